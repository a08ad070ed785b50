//! A tenant's routing set-up, read from its config documents (Tenant, Queue, RoutingPolicy as
//! the gateway announced them): the engine's policy and queues, and each queue's SLA.

use crate::store::desk;
use kefu_crd::document::kind;
use kefu_routing::{Overflow, OverflowMode, Policy, QueueDef, Strategy, Weights};
use kefu_store::StoreError;
use kefu_store::sea_orm::ConnectionTrait;
use std::collections::HashMap;

/// The queue every tenant has when it configured none.
pub const DEFAULT_QUEUE: &str = "default";

#[derive(Clone, Debug)]
pub struct Sla {
    pub target_percent: u32,
    pub within_seconds: u32,
}

#[derive(Clone, Debug)]
pub struct Setup {
    pub policy: Policy,
    pub queues: Vec<QueueDef>,
    pub sla: HashMap<String, Sla>,
}

impl Setup {
    /// The queue a handed-off conversation joins: its merchant's queue, else the platform's.
    pub fn queue_for(&self, merchant_id: &str) -> &QueueDef {
        let merchant = (!merchant_id.is_empty()).then_some(merchant_id);
        self.queues
            .iter()
            .find(|q| merchant.is_some() && q.merchant.as_deref() == merchant)
            .or_else(|| self.queues.iter().find(|q| q.merchant.is_none()))
            .unwrap_or(&self.queues[0])
    }

    pub fn queue(&self, name: &str) -> Option<&QueueDef> {
        self.queues.iter().find(|q| q.name == name)
    }
}

pub async fn load<C: ConnectionTrait>(db: &C, tenant_id: &str) -> Result<Setup, StoreError> {
    let rows = desk::routing_configs(db, tenant_id).await?;
    let docs: Vec<(String, String, String)> = rows
        .into_iter()
        .map(|r| (r.kind, r.name, r.spec_json))
        .collect();
    Ok(build(&docs))
}

/// Builds the set-up from (kind, name, spec JSON) documents; a document that no longer parses
/// is skipped (the gateway validated it when it was stored).
pub fn build(docs: &[(String, String, String)]) -> Setup {
    let mut tenant: Option<kefu_crd::TenantSpec> = None;
    let mut policies: Vec<(String, kefu_crd::RoutingPolicySpec)> = Vec::new();
    let mut queues: Vec<(String, kefu_crd::QueueSpec)> = Vec::new();
    for (kind, name, json) in docs {
        match kind.as_str() {
            kind::TENANT => tenant = serde_json::from_str(json).ok(),
            kind::ROUTING_POLICY => {
                if let Ok(p) = serde_json::from_str(json) {
                    policies.push((name.clone(), p));
                }
            }
            kind::QUEUE => {
                if let Ok(q) = serde_json::from_str(json) {
                    queues.push((name.clone(), q));
                }
            }
            _ => {}
        }
    }
    // One policy per tenant: `default` when there are several.
    policies.sort_by_key(|(name, _)| (name != "default", name.clone()));
    let mut policy = Policy::default();
    if let Some((_, p)) = policies.first() {
        policy.strategy = match p.strategy {
            kefu_crd::routing::Strategy::LeastLoad => Strategy::LeastLoad,
            kefu_crd::routing::Strategy::RoundRobin => Strategy::RoundRobin,
            kefu_crd::routing::Strategy::LongestIdle => Strategy::LongestIdle,
        };
        policy.weights = Weights {
            tier: p.weights.tier,
            page: p.weights.page,
            sentiment: p.weights.sentiment,
            aging: p.weights.aging,
        };
        policy.accept_timeout_ms = u64::from(p.accept_timeout_seconds) * 1000;
        policy.skill_relaxation_ms = u64::from(p.skill_relaxation_seconds) * 1000;
        policy.sticky = p.sticky_agent;
    }
    let mut merchants: HashMap<String, (OverflowMode, u64)> = HashMap::new();
    if let Some(t) = &tenant {
        for tier in &t.member_tiers {
            policy
                .tier_weights
                .insert(tier.name.clone(), f64::from(tier.priority_weight));
        }
        for m in &t.merchants {
            let mode = match m.overflow {
                kefu_crd::tenant::OverflowMode::Never => OverflowMode::Never,
                kefu_crd::tenant::OverflowMode::Always => OverflowMode::Always,
                kefu_crd::tenant::OverflowMode::Busy => OverflowMode::Busy,
                kefu_crd::tenant::OverflowMode::Offline => OverflowMode::Offline,
            };
            merchants.insert(
                m.id.clone(),
                (mode, u64::from(m.wait_threshold_seconds) * 1000),
            );
        }
    }
    let platform = queues
        .iter()
        .find(|(_, q)| q.merchant.is_none())
        .map(|(n, _)| n.clone());
    let mut sla = HashMap::new();
    let mut defs: Vec<QueueDef> = queues
        .iter()
        .map(|(name, q)| {
            sla.insert(
                name.clone(),
                Sla {
                    target_percent: q.sla.target_percent,
                    within_seconds: q.sla.within_seconds,
                },
            );
            // A merchant's queue overflows by the merchant's rule, to the queue it names (or
            // the platform's).
            let overflow = q.merchant.as_ref().and_then(|m| {
                let (mode, after_ms) = merchants.get(m).copied()?;
                let to = q
                    .overflow
                    .as_ref()
                    .map(|o| o.queue.clone())
                    .or_else(|| platform.clone())?;
                (mode != OverflowMode::Never).then_some(Overflow {
                    to_queue: to,
                    mode,
                    after_ms,
                })
            });
            QueueDef {
                name: name.clone(),
                merchant: q.merchant.clone(),
                skills: q.skills.clone(),
                languages: q.languages.clone(),
                base_priority: 0.0,
                timeout_ms: u64::from(q.timeout_seconds) * 1000,
                overflow,
            }
        })
        .collect();
    // A merchant's conversations may overflow to the platform's queues or its own, never into
    // another merchant's (whose agents may not see them).
    let merchant_of: HashMap<String, Option<String>> = defs
        .iter()
        .map(|q| (q.name.clone(), q.merchant.clone()))
        .collect();
    for q in &mut defs {
        let allowed = q.overflow.as_ref().is_some_and(|o| {
            merchant_of
                .get(&o.to_queue)
                .is_some_and(|m| m.is_none() || *m == q.merchant)
        });
        if q.overflow.is_some() && !allowed {
            tracing::warn!(queue = %q.name, "overflow into another merchant's (or no) queue ignored");
            q.overflow = None;
        }
    }
    if defs.is_empty() {
        defs.push(QueueDef {
            name: DEFAULT_QUEUE.to_owned(),
            merchant: None,
            skills: Vec::new(),
            languages: Vec::new(),
            base_priority: 0.0,
            timeout_ms: 600_000,
            overflow: None,
        });
        sla.insert(
            DEFAULT_QUEUE.to_owned(),
            Sla {
                target_percent: 80,
                within_seconds: 20,
            },
        );
    }
    Setup {
        policy,
        queues: defs,
        sla,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_tenant_document_routes_merchant_conversations_to_their_queue() {
        let yaml = std::fs::read_to_string(
            std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
                .join("../../demo/demo-tenant.yaml"),
        )
        .expect("demo tenant");
        let mut docs = Vec::new();
        for doc in kefu_crd::document::parse(&yaml).expect("parses") {
            if let Some((kind, spec)) = doc.config_document() {
                docs.push((kind.to_owned(), doc.name().to_owned(), spec.to_string()));
            }
        }
        let setup = build(&docs);
        assert_eq!(setup.queue_for("jinyuan").name, "jinyuan");
        assert_eq!(setup.queue_for("").name, "platform");
        assert_eq!(setup.queue_for("unknown-merchant").name, "platform");
        let jinyuan = setup.queue("jinyuan").expect("jinyuan queue");
        let overflow = jinyuan.overflow.as_ref().expect("jinyuan overflows");
        assert_eq!(overflow.to_queue, "platform");
        assert_eq!(setup.sla["jinyuan"].within_seconds, 30);
        assert_eq!(setup.policy.accept_timeout_ms, 30_000);
    }

    #[test]
    fn a_merchant_queue_never_overflows_into_another_merchants() {
        let queue = |merchant: &str, overflow: &str| {
            serde_json::json!({"tenant": "t", "merchant": merchant, "sla": {"targetPercent": 80,
                "withinSeconds": 20}, "timeoutSeconds": 60, "overflow": {"queue": overflow}})
            .to_string()
        };
        let tenant = serde_json::json!({"displayName": "t", "merchants": [
            {"id": "a", "name": "A", "overflow": "always"}, {"id": "b", "name": "B", "overflow": "always"}]})
        .to_string();
        let docs = vec![
            ("tenant".to_owned(), "t".to_owned(), tenant),
            ("queue".to_owned(), "qa".to_owned(), queue("a", "qb")),
            ("queue".to_owned(), "qb".to_owned(), queue("b", "qa")),
        ];
        let setup = build(&docs);
        assert!(setup.queue("qa").unwrap().overflow.is_none());
        assert!(setup.queue("qb").unwrap().overflow.is_none());
    }

    #[test]
    fn a_tenant_without_queues_has_the_default_queue() {
        let setup = build(&[]);
        assert_eq!(setup.queue_for("any").name, DEFAULT_QUEUE);
    }
}
