//! The tenant's ticketing settings: read (defaults when none are stored) and stored after a check.

use super::*;

/// The tenant's settings (the defaults when it has none stored).
pub async fn settings<C: ConnectionTrait>(db: &C, tenant: &str) -> Result<Settings, DbErr> {
    let Some(row) = store::settings(db, tenant).await? else {
        return Ok(Settings::default());
    };
    let doc: crate::settings::Document = serde_json::from_str(&row.document).unwrap_or_default();
    Ok(Settings::from_document(&doc).unwrap_or_default())
}

/// Stores `tenant`'s settings document after checking it; whether it was newer than the
/// stored one.
pub async fn put_settings(
    db: &DatabaseConnection,
    tenant: &str,
    json: &str,
    version: i64,
) -> Result<bool, Error> {
    let doc: crate::settings::Document =
        serde_json::from_str(json).map_err(|e| field("json", e.to_string()))?;
    Settings::from_document(&doc).map_err(|e| field(&e.field, e.reason))?;
    let normal = serde_json::to_string(&doc).expect("a document serializes");
    Ok(store::put_settings(db, tenant, &normal, version).await?)
}
