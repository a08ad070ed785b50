//! Canned responses.

use super::*;
use kefu_store::Scoped;

/// Creates or replaces a canned response of the tenant. An id that belongs to another tenant is
/// a conflict and changes nothing.
pub async fn put_canned<C: ConnectionTrait>(
    db: &C,
    c: canned_response::Model,
) -> Result<(), StoreError> {
    let updated = canned_response::Entity::update_many()
        .col_expr(
            canned_response::Column::MerchantId,
            Expr::value(c.merchant_id.clone()),
        )
        .col_expr(
            canned_response::Column::Shortcut,
            Expr::value(c.shortcut.clone()),
        )
        .col_expr(canned_response::Column::Title, Expr::value(c.title.clone()))
        .col_expr(canned_response::Column::Text, Expr::value(c.text.clone()))
        .col_expr(
            canned_response::Column::UpdatedAt,
            Expr::value(c.updated_at),
        )
        .filter(canned_response::Column::Id.eq(c.id))
        .filter(canned_response::Column::TenantId.eq(c.tenant_id.as_str()))
        .exec(db)
        .await?;
    if updated.rows_affected == 1 {
        return Ok(());
    }
    let id = c.id;
    canned_response::Entity::insert(canned_response::ActiveModel::from(c))
        .exec_without_returning(db)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                StoreError::Conflict(format!("canned response {id} belongs elsewhere"))
            }
            _ => e.into(),
        })?;
    Ok(())
}

/// The tenant's canned responses visible to a merchant scope (`None`: platform staff, who see
/// all), ordered by shortcut.
pub async fn list_canned<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    merchant: Option<&str>,
) -> Result<Vec<canned_response::Model>, StoreError> {
    let mut q = canned_response::Entity::of_tenant(tenant_id);
    if let Some(m) = merchant {
        // A merchant's staff see their merchant's and the platform's shared responses.
        q = q.filter(canned_response::Column::MerchantId.is_in([m, ""]));
    }
    Ok(q.order_by_asc(canned_response::Column::Shortcut)
        .all(db)
        .await?)
}

pub async fn delete_canned<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    id: Uuid,
) -> Result<bool, StoreError> {
    let res = canned_response::Entity::delete_many()
        .filter(canned_response::Column::TenantId.eq(tenant_id))
        .filter(canned_response::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
