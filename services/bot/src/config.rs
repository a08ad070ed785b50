//! Bot configuration: listeners, one knowledge base file per tenant
//! (`KEFU_KB__<TENANT>=/path/faq-kb.jsonl`, or a `[kb]` table in the file) and optionally a
//! tenant's own synonyms (`KEFU_SYNONYMS__<TENANT>=/path/synonyms.txt`, the format of
//! `services/bot/data/synonyms.txt`), added to the built-in table.

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
    /// How often knowledge-base files are checked for changes (0: never).
    pub kb_reload_interval_ms: u64,
    /// Tenant id → path of extra synonyms for its knowledge base.
    pub synonyms: BTreeMap<String, String>,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:8082".into(),
            grpc_addr: "127.0.0.1:50053".into(),
            kb: BTreeMap::new(),
            orders: kefu_orders::OrderSystemConfig::default(),
            kb_reload_interval_ms: 5_000,
            synonyms: BTreeMap::new(),
        }
    }
}

impl Validate for BotConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let files = self.kb.iter().map(|(t, p)| ("kb", t, p));
        let synonyms = self.synonyms.iter().map(|(t, p)| ("synonyms", t, p));
        for (table, tenant, path) in files.chain(synonyms) {
            if path.is_empty() {
                return Err(ConfigError::Invalid {
                    field: format!("{table}.{tenant}"),
                    reason: "must be a file path".into(),
                });
            }
        }
        let url = &self.orders.url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                field: "orders.url".into(),
                reason: "must be an http(s) URL".into(),
            });
        }
        for tenant in self.synonyms.keys() {
            if !self.kb.contains_key(tenant) {
                return Err(ConfigError::Invalid {
                    field: format!("synonyms.{tenant}"),
                    reason: "the tenant has no knowledge base (kb.<tenant>)".into(),
                });
            }
        }
        Ok(())
    }
}

impl BotConfig {
    /// The lexicon of `tenant`: the built-in one, extended with the tenant's synonyms file when
    /// one is configured; errors name the file and line.
    pub fn lexicon(&self, tenant: &str) -> anyhow::Result<Option<crate::nlu::lexicon::Lexicon>> {
        let Some(path) = self.synonyms.get(tenant) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("synonyms.{tenant}: cannot read {path}: {e}"))?;
        let mut lexicon = crate::nlu::lexicon::Lexicon::builtin();
        lexicon
            .extend_synonyms(path, &text)
            .map_err(|e| anyhow::anyhow!("synonyms.{tenant}: {e}"))?;
        Ok(Some(lexicon))
    }
}

impl BotConfig {
    /// The handoff, small-talk and off-topic phrases of `tenant`: the built-in ones, extended
    /// with the sections (`[human]`, `[person]`, `[complaint]`, `[offtopic]`, …) of the tenant's
    /// synonyms file when one is configured.
    pub fn signals(&self, tenant: &str) -> anyhow::Result<Option<crate::nlu::signals::Signals>> {
        let Some(path) = self.synonyms.get(tenant) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("synonyms.{tenant}: cannot read {path}: {e}"))?;
        let mut signals = crate::nlu::signals::Signals::builtin();
        signals.extend(&text);
        Ok(Some(signals))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_need_a_knowledge_base_and_name_their_line() {
        let dir = std::env::temp_dir().join(format!("kefu-bot-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.txt");
        let bad = dir.join("bad.txt");
        std::fs::write(&good, "物流: 顺丰\n").unwrap();
        std::fs::write(&bad, "# comment\n物流 顺丰\n").unwrap();
        let mut c = BotConfig::default();
        c.synonyms
            .insert("demo".into(), good.to_string_lossy().into_owned());
        assert!(c.validate().is_err(), "synonyms without kb.demo");
        c.kb.insert("demo".into(), "/kb.jsonl".into());
        assert!(c.validate().is_ok());
        let lex = c.lexicon("demo").unwrap().unwrap();
        assert!(lex.concepts("顺丰").contains(&"物流".to_owned()));
        assert!(c.lexicon("other").unwrap().is_none());
        c.synonyms
            .insert("demo".into(), bad.to_string_lossy().into_owned());
        let e = c.lexicon("demo").unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).ok();
        assert!(e.contains("synonyms.demo") && e.contains("line 2"), "{e}");
    }
}
