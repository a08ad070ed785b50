//! Bot configuration: listeners and one knowledge base file per tenant
//! (`KEFU_KB__<TENANT>=/path/faq-kb.jsonl`, or a `[kb]` table in the file).

use crate::kb;
use kefu_config::{ConfigError, Validate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct BotConfig {
    pub http_addr: String,
    pub grpc_addr: String,
    /// Tenant id → path of its `faq-kb.jsonl`.
    pub kb: BTreeMap<String, String>,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:8082".into(),
            grpc_addr: "127.0.0.1:50053".into(),
            kb: BTreeMap::new(),
        }
    }
}

impl Validate for BotConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        for (tenant, path) in &self.kb {
            if path.is_empty() {
                return Err(ConfigError::Invalid {
                    field: format!("kb.{tenant}"),
                    reason: "must be a file path".into(),
                });
            }
        }
        Ok(())
    }
}

impl BotConfig {
    /// Reads every configured knowledge base; errors name the tenant, file and line.
    pub fn load_knowledge(&self) -> anyhow::Result<Vec<(String, Vec<kb::Faq>)>> {
        let mut out = Vec::new();
        for (tenant, path) in &self.kb {
            let faqs = read_kb_file(path).map_err(|e| anyhow::anyhow!("kb.{tenant}: {e:#}"))?;
            out.push((tenant.clone(), faqs));
        }
        Ok(out)
    }
}

/// Reads and validates one `faq-kb.jsonl`; errors name the file and, for bad content, the line
/// and field.
pub fn read_kb_file(path: &str) -> anyhow::Result<Vec<kb::Faq>> {
    let meta = std::fs::metadata(path).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?;
    if meta.len() as usize > kb::MAX_KB_BYTES {
        anyhow::bail!("{path} is larger than {} bytes", kb::MAX_KB_BYTES);
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?;
    kb::parse_jsonl(&text).map_err(|e| anyhow::anyhow!("{path}: {e}"))
}
