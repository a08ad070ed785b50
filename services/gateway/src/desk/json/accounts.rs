//! Accounts: sign-in, agents, statuses.

use super::*;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub login: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>` (or `?token=` on the desk socket).
    pub token: String,
    pub agent: Agent,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Agent {
    pub tenant_id: String,
    pub agent_id: String,
    pub login: String,
    pub display_name: String,
    /// agent | supervisor | admin
    pub role: String,
    /// Empty for platform staff.
    pub merchant_id: String,
    pub skills: Vec<String>,
    /// BCP 47 tags, e.g. zh-Hans, en.
    pub languages: Vec<String>,
    /// Conversations at once per channel type (`*` for every other type).
    pub capacity: BTreeMap<String, u32>,
    /// online | busy | away | offline
    pub status: String,
    /// Open conversations per channel type.
    pub load: BTreeMap<String, u32>,
    pub status_since: Option<DateTime<Utc>>,
}

impl From<&pb::Agent> for Agent {
    fn from(a: &pb::Agent) -> Self {
        Self {
            tenant_id: a.tenant_id.clone(),
            agent_id: a.agent_id.clone(),
            login: a.login.clone(),
            display_name: a.display_name.clone(),
            role: a.role.clone(),
            merchant_id: a.merchant_id.clone(),
            skills: a.skills.clone(),
            languages: a.languages.clone(),
            capacity: a.capacity.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            status: a.status.clone(),
            load: a.load.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            status_since: ts(&a.status_since),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AgentList {
    pub agents: Vec<Agent>,
}

/// An agent account to create or replace: the [`Agent`] JSON plus `password`. The read-only
/// fields (`status`, `load`, `status_since`) are accepted so a fetched agent can be sent back,
/// and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    /// Must match the path's tenant when given.
    pub tenant_id: Option<String>,
    /// Chosen by the gateway when creating without one; must match the path when replacing.
    pub agent_id: Option<String>,
    pub login: String,
    #[serde(default)]
    pub display_name: String,
    /// agent | supervisor | admin
    pub role: String,
    #[serde(default)]
    pub merchant_id: String,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub capacity: BTreeMap<String, u32>,
    /// 8–128 characters; required when creating, omitted keeps the current one.
    pub password: Option<String>,
    #[schema(read_only)]
    pub status: Option<String>,
    #[schema(read_only)]
    pub load: Option<BTreeMap<String, u32>>,
    #[schema(read_only)]
    pub status_since: Option<String>,
}

impl AgentBody {
    /// The checked account for `PutAgent`: `agent_id` is the path's (or a new one).
    pub fn into_request(
        self,
        tenant_id: &str,
        agent_id: &str,
        creating: bool,
    ) -> Result<(pb::Agent, String), ApiError> {
        if self.tenant_id.as_deref().is_some_and(|t| t != tenant_id) {
            return Err(ApiError::field("tenant_id", "must be the path's tenant"));
        }
        if self.agent_id.as_deref().is_some_and(|a| a != agent_id) {
            return Err(ApiError::field("agent_id", "must be the path's agent id"));
        }
        crate::admin::check_id("agent_id", agent_id)?;
        bounded("login", &self.login, 1, 128)?;
        bounded("display_name", &self.display_name, 0, 200)?;
        if crate::desk::auth::Role::parse(&self.role).is_none() {
            return Err(ApiError::field(
                "role",
                "must be one of agent, supervisor, admin",
            ));
        }
        if !self.merchant_id.is_empty() {
            crate::admin::check_id("merchant_id", &self.merchant_id)?;
        }
        short_list("skills", &self.skills)?;
        short_list("languages", &self.languages)?;
        if self.capacity.len() > MAX_LIST {
            return Err(ApiError::field("capacity", "has too many channel types"));
        }
        for (k, v) in &self.capacity {
            bounded("capacity", k, 1, 32)?;
            if *v > 100 {
                return Err(ApiError::field(
                    &format!("capacity.{k}"),
                    "must be at most 100",
                ));
            }
        }
        let password = self.password.unwrap_or_default();
        match (creating, password.is_empty()) {
            (true, true) => return Err(ApiError::field("password", "is required when creating")),
            (_, false) => bounded("password", &password, 8, 128)?,
            (false, true) => {}
        }
        let agent = pb::Agent {
            tenant_id: tenant_id.to_owned(),
            agent_id: agent_id.to_owned(),
            login: self.login,
            display_name: self.display_name,
            role: self.role,
            merchant_id: self.merchant_id,
            skills: self.skills,
            languages: self.languages,
            capacity: self.capacity.into_iter().collect(),
            ..Default::default()
        };
        Ok((agent, password))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// online | busy | away | offline
    pub status: String,
}
