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
    /// The order-system connector (`KEFU_ORDERS__URL`, `KEFU_ORDERS__TOKEN`).
    pub orders: kefu_orders::OrderSystemConfig,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:8082".into(),
            grpc_addr: "127.0.0.1:50053".into(),
            kb: BTreeMap::new(),
            orders: kefu_orders::OrderSystemConfig::default(),
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
        if !self.orders.url.is_empty()
            && !(self.orders.url.starts_with("http://") || self.orders.url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                field: "orders.url".into(),
                reason: "must be an http(s) URL".into(),
            });
        }
        Ok(())
    }
}

impl BotConfig {
    /// Reads every configured knowledge base; errors name the tenant, file and line.
    pub fn load_knowledge(&self) -> anyhow::Result<Vec<(String, Vec<kb::Faq>)>> {
        let mut out = Vec::new();
        for (tenant, path) in &self.kb {
            let meta = std::fs::metadata(path)
                .map_err(|e| anyhow::anyhow!("kb.{tenant}: cannot read {path}: {e}"))?;
            if meta.len() as usize > kb::MAX_KB_BYTES {
                anyhow::bail!(
                    "kb.{tenant}: {path} is larger than {} bytes",
                    kb::MAX_KB_BYTES
                );
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("kb.{tenant}: cannot read {path}: {e}"))?;
            let faqs =
                kb::parse_jsonl(&text).map_err(|e| anyhow::anyhow!("kb.{tenant} ({path}): {e}"))?;
            out.push((tenant.clone(), faqs));
        }
        Ok(out)
    }
}
