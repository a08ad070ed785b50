//! Canned responses.

use super::*;

#[derive(Serialize, ToSchema)]
pub struct CannedResponse {
    pub tenant_id: String,
    pub canned_id: String,
    /// Empty: the whole platform's.
    pub merchant_id: String,
    /// e.g. "/thanks"
    pub shortcut: String,
    pub title: String,
    pub text: String,
}

impl From<&pb::CannedResponse> for CannedResponse {
    fn from(c: &pb::CannedResponse) -> Self {
        Self {
            tenant_id: c.tenant_id.clone(),
            canned_id: c.canned_id.clone(),
            merchant_id: c.merchant_id.clone(),
            shortcut: c.shortcut.clone(),
            title: c.title.clone(),
            text: c.text.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CannedList {
    pub canned: Vec<CannedResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedBody {
    pub tenant_id: Option<String>,
    pub canned_id: Option<String>,
    #[serde(default)]
    pub merchant_id: String,
    pub shortcut: String,
    #[serde(default)]
    pub title: String,
    pub text: String,
}

impl CannedBody {
    pub fn into_proto(
        self,
        tenant_id: &str,
        canned_id: &str,
    ) -> Result<pb::CannedResponse, ApiError> {
        if self.tenant_id.as_deref().is_some_and(|t| t != tenant_id) {
            return Err(ApiError::field("tenant_id", "must be the path's tenant"));
        }
        if self.canned_id.as_deref().is_some_and(|c| c != canned_id) {
            return Err(ApiError::field("canned_id", "must be the path's id"));
        }
        crate::admin::check_id("canned_id", canned_id)?;
        if !self.merchant_id.is_empty() {
            crate::admin::check_id("merchant_id", &self.merchant_id)?;
        }
        bounded("shortcut", &self.shortcut, 1, 64)?;
        bounded("title", &self.title, 0, 200)?;
        bounded("text", &self.text, 1, MAX_TEXT_CHARS)?;
        Ok(pb::CannedResponse {
            tenant_id: tenant_id.to_owned(),
            canned_id: canned_id.to_owned(),
            merchant_id: self.merchant_id,
            shortcut: self.shortcut,
            title: self.title,
            text: self.text,
        })
    }
}
