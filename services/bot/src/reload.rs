//! Knowledge bases change without a restart: the bot re-reads a tenant's `faq-kb.jsonl` (and
//! its synonyms file) when the file changes — in Kubernetes, when the operator's ConfigMap is
//! updated and the kubelet refreshes the mounted file. A file that fails to load leaves the
//! tenant's current knowledge in place and says why in the log and in
//! `kefu_bot_kb_reloads{outcome}`.

use crate::{BotConfig, Engine, Knowledge};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// What identifies one version of a file: modification time and length.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &str) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The stamps of a tenant's files (knowledge base, then synonyms).
fn stamps(config: &BotConfig, tenant: &str) -> (Stamp, Stamp) {
    (
        config.kb.get(tenant).and_then(|p| stamp(p)),
        config.synonyms.get(tenant).and_then(|p| stamp(p)),
    )
}

/// Loads and indexes one tenant's knowledge; errors name the tenant, file and line.
pub fn load_tenant(config: &BotConfig, tenant: &str) -> anyhow::Result<Engine> {
    let path = config
        .kb
        .get(tenant)
        .ok_or_else(|| anyhow::anyhow!("kb.{tenant}: not configured"))?;
    let faqs = crate::read_kb_file(path).map_err(|e| anyhow::anyhow!("kb.{tenant}: {e:#}"))?;
    Ok(match (config.lexicon(tenant)?, config.signals(tenant)?) {
        (Some(lexicon), Some(signals)) => {
            Engine::with_language(faqs, Arc::new(lexicon), Arc::new(signals))
        }
        (Some(lexicon), None) => Engine::with_lexicon(faqs, Arc::new(lexicon)),
        _ => Engine::new(faqs),
    })
}

/// Checks every `interval` until `shutdown`; re-indexes (off the async threads) the tenants
/// whose files changed since they were loaded.
pub async fn watch(
    config: BotConfig,
    knowledge: Knowledge,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let reloads = kefu_telemetry::metrics::meter()
        .u64_counter("kefu_bot_kb_reloads")
        .with_description("Knowledge-base reloads after a file changed, by outcome")
        .build();
    let config = Arc::new(config);
    let mut seen: HashMap<String, (Stamp, Stamp)> = config
        .kb
        .keys()
        .map(|t| (t.clone(), stamps(&config, t)))
        .collect();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        for tenant in config.kb.keys() {
            let now = stamps(&config, tenant);
            if seen.get(tenant) == Some(&now) {
                continue;
            }
            seen.insert(tenant.clone(), now);
            let (cfg, t) = (config.clone(), tenant.clone());
            let loaded = tokio::task::spawn_blocking(move || load_tenant(&cfg, &t)).await;
            match loaded {
                Ok(Ok(engine)) => {
                    knowledge.set_engine(tenant, engine);
                    tracing::info!(%tenant, "knowledge base reloaded");
                    reloads.add(1, &[opentelemetry::KeyValue::new("outcome", "loaded")]);
                }
                Ok(Err(e)) => {
                    tracing::error!(%tenant, error = format!("{e:#}"), "knowledge base not reloaded; keeping the current one");
                    reloads.add(1, &[opentelemetry::KeyValue::new("outcome", "rejected")]);
                }
                Err(e) => tracing::error!(%tenant, error = %e, "knowledge base reload failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"{"id":"a.one","intent":"order","question":"怎么开发票","similar":[],"answer":"第一版","scope":"platform"}"#;
    const TWO: &str = r#"{"id":"a.two","intent":"order","question":"怎么开发票","similar":[],"answer":"第二版答案","scope":"platform"}"#;

    async fn answer_of(k: &Knowledge) -> Option<String> {
        k.get("t").and_then(|e| e.answer("怎么开发票", None).faq_id)
    }

    #[tokio::test]
    async fn a_changed_file_is_reloaded_and_a_broken_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kb.jsonl");
        std::fs::write(&path, ONE).unwrap();
        let mut config = BotConfig::default();
        config
            .kb
            .insert("t".into(), path.to_string_lossy().into_owned());
        let knowledge = Knowledge::default();
        knowledge.set_engine("t", load_tenant(&config, "t").unwrap());
        assert_eq!(answer_of(&knowledge).await.as_deref(), Some("a.one"));
        let stop = CancellationToken::new();
        let task = tokio::spawn(watch(
            config,
            knowledge.clone(),
            Duration::from_millis(20),
            stop.clone(),
        ));
        // Give the watcher its first look, then change the file (length differs too).
        tokio::time::sleep(Duration::from_millis(60)).await;
        std::fs::write(&path, TWO).unwrap();
        let mut reloaded = false;
        for _ in 0..200 {
            if answer_of(&knowledge).await.as_deref() == Some("a.two") {
                reloaded = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(reloaded, "the new knowledge base was not picked up");
        std::fs::write(&path, "{ broken").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            answer_of(&knowledge).await.as_deref(),
            Some("a.two"),
            "a broken file keeps the current knowledge"
        );
        stop.cancel();
        task.await.unwrap();
    }
}
