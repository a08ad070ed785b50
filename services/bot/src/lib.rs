//! The bot: answers customers from each tenant's knowledge base over gRPC
//! (`kefu.bot.v1.Bot`). Stateless; the session service calls it and stores the turns.
//!
//! - [`kb`]: the `faq-kb.jsonl` format; [`nlu`]: understanding one message (normalisation,
//!   segmentation, synonyms, BM25, small talk, handoff signals, sentiment) into an [`Answer`].
//! - [`dialogue`]: the conversation around it — order look-ups and operations through the
//!   order-system connector, cards and their buttons, multi-turn order choice, handoff after N
//!   misses — with the state carried by the session.
//! - [`eval`]: scoring on labelled messages (`kefu bot eval`).
//! - [`BotApp`]: the knowledge of every tenant behind the gRPC service, shared by the standalone
//!   binary ([`run`]) and `kefu dev`.

pub mod config;
pub mod dialogue;
pub mod eval;
pub mod kb;
pub mod nlu;
pub mod reload;
mod run;

pub use config::{BotConfig, read_kb_file};
pub use run::run;

use kefu_proto::bot::bot_server::{Bot, BotServer};
use kefu_proto::bot::{AnswerReply, AnswerRequest};
pub use nlu::{Answer, Engine, Language};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tonic::{Request, Response, Status};

pub const MAX_TEXT_CHARS: usize = 5_000;

/// Every tenant's engine; replaced whole when a knowledge base is (re)loaded.
#[derive(Clone, Default)]
pub struct Knowledge {
    tenants: Arc<RwLock<HashMap<String, Arc<Engine>>>>,
}

/// The engine of a tenant without a knowledge base: small talk, handoff and the menu only.
static EMPTY: std::sync::LazyLock<Arc<Engine>> =
    std::sync::LazyLock::new(|| Arc::new(Engine::new(Vec::new())));

impl Knowledge {
    /// Indexes `faqs` and makes them the tenant's knowledge base.
    pub fn set(&self, tenant: &str, faqs: Vec<kb::Faq>) {
        self.set_engine(tenant, Engine::new(faqs));
    }

    pub fn set_engine(&self, tenant: &str, engine: Engine) {
        self.tenants
            .write()
            .expect("knowledge lock")
            .insert(tenant.to_owned(), Arc::new(engine));
    }

    pub fn get(&self, tenant: &str) -> Option<Arc<Engine>> {
        self.tenants
            .read()
            .expect("knowledge lock")
            .get(tenant)
            .cloned()
    }
}

pub struct BotApp {
    pub knowledge: Knowledge,
    /// The order-system connector behind order look-ups and card buttons.
    pub orders: kefu_orders::OrderClient,
    answers: Counter<u64>,
    latency_ms: Histogram<f64>,
}

impl BotApp {
    /// A bot without an order system (look-ups then say so).
    pub fn new(knowledge: Knowledge) -> Arc<Self> {
        Self::with_orders(
            knowledge,
            kefu_orders::OrderClient::new(&kefu_orders::OrderSystemConfig::default()),
        )
    }

    pub fn with_orders(knowledge: Knowledge, orders: kefu_orders::OrderClient) -> Arc<Self> {
        nlu::warm_up();
        let meter = kefu_telemetry::metrics::meter();
        Arc::new(Self {
            knowledge,
            orders,
            answers: meter
                .u64_counter("kefu_bot_answers")
                .with_description(
                    "Bot answers by kind (faq, suggest, fallback, greeting, thanks, handoff)",
                )
                .build(),
            latency_ms: meter
                .f64_histogram("kefu_bot_answer_ms")
                .with_description("Time to answer one message")
                .build(),
        })
    }

    pub fn grpc(self: &Arc<Self>) -> BotServer<BotGrpc> {
        BotServer::new(BotGrpc { app: self.clone() })
    }

    /// Answers with the tenant's knowledge base; a tenant without one gets small talk and the
    /// fallback menu, never another tenant's entries.
    pub fn answer(&self, tenant: &str, text: &str, merchant: Option<&str>) -> Answer {
        let started = Instant::now();
        let engine = self.knowledge.get(tenant).unwrap_or_else(|| EMPTY.clone());
        let answer = engine.answer(text, merchant);
        let kind = if answer.handoff {
            "handoff"
        } else if answer.faq_id.is_some() {
            "faq"
        } else if !answer.suggestions.is_empty() {
            "suggest"
        } else {
            answer.intent.as_str()
        };
        self.answers
            .add(1, &[KeyValue::new("kind", kind.to_owned())]);
        self.latency_ms
            .record(started.elapsed().as_secs_f64() * 1000.0, &[]);
        answer
    }
}

/// The limits every caller of [`BotApp::answer`] applies to a message (gRPC and `kefu bot ask`).
pub fn check_text(text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!("text: at most {MAX_TEXT_CHARS} characters"));
    }
    Ok(())
}

pub struct BotGrpc {
    app: Arc<BotApp>,
}

#[tonic::async_trait]
impl Bot for BotGrpc {
    async fn answer(&self, req: Request<AnswerRequest>) -> Result<Response<AnswerReply>, Status> {
        let req = req.into_inner();
        if req.tenant_id.is_empty() {
            return Err(Status::invalid_argument("tenant_id: is required"));
        }
        check_text(&req.text).map_err(Status::invalid_argument)?;
        if req.state.len() > dialogue::MAX_STATE_BYTES {
            return Err(Status::invalid_argument(format!(
                "state: at most {} bytes",
                dialogue::MAX_STATE_BYTES
            )));
        }
        let turn = dialogue::Turn {
            merchant: (!req.merchant_id.is_empty()).then(|| req.merchant_id.clone()),
            tenant: req.tenant_id,
            text: req.text,
            action: req.action,
            page: req.page,
            customer: req.customer,
            state: dialogue::DialogueState::parse(&req.state),
            handoff_after_misses: req.handoff_after_misses,
        };
        let a = self.app.respond(turn).await;
        tracing::debug!(faq = ?a.faq_id, confidence = a.confidence, handoff = a.handoff, "answered");
        Ok(Response::new(AnswerReply {
            faq_id: a.faq_id.unwrap_or_default(),
            intent: a.intent,
            confidence: a.confidence,
            answer: a.answer,
            handoff: a.handoff,
            reason: a.reason,
            suggestions: a.suggestions,
            action: a.action,
            language: a.language.as_str().to_owned(),
            sentiment: a.sentiment,
            miss: a.miss,
            suggestion_ids: a.suggestion_ids,
            cards: a.cards,
            intents: a.state.intents.clone(),
            state: a.state.to_json(),
        }))
    }
}
