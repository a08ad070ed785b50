//! Group commit for inbound messages. Request handlers hand their validated message to the
//! writer and await the outcome; the writer stores everything that queued up meanwhile in one
//! transaction (`accept_inbound_many`), answers each handler, and hands the events to the
//! outbox's fast path. Under light load a batch is one message, so nobody waits for company;
//! under heavy load one commit serves many requests. If a batch fails (another replica stored
//! one of its ids at the same instant), its messages are retried one by one so one conflict
//! cannot fail the others (any other error fails the batch at once).

use crate::store::{Acceptance, InboundRecord};
use kefu_bus::Envelope;
use kefu_store::StoreError;
use kefu_store::sea_orm::DatabaseConnection;
use kefu_worker::Outbox;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Largest batch of one transaction.
pub const MAX_BATCH: usize = 256;
/// Transactions in flight at once.
pub const WRITERS: usize = 2;

struct Job {
    record: InboundRecord,
    envelope: Envelope,
    reply: oneshot::Sender<Result<Acceptance, String>>,
}

#[derive(Clone)]
pub struct InboundWriter {
    tx: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("storing the message failed: {0}")]
    Store(String),
    #[error("the gateway is shutting down")]
    Closed,
}

impl InboundWriter {
    /// Starts the writers; they stop when every handle is dropped.
    pub fn spawn(db: DatabaseConnection, outbox: Outbox) -> Self {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 16);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(write_loop(db.clone(), outbox.clone(), rx.clone()));
        }
        Self { tx }
    }

    /// Stores the message and its event (or recognises a re-send); resolves once committed.
    pub async fn accept(
        &self,
        record: InboundRecord,
        envelope: Envelope,
    ) -> Result<Acceptance, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                record,
                envelope,
                reply,
            })
            .await
            .map_err(|_| WriteError::Closed)?;
        answer
            .await
            .map_err(|_| WriteError::Closed)?
            .map_err(WriteError::Store)
    }
}

async fn write_loop(db: DatabaseConnection, outbox: Outbox, rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    loop {
        // Hold the receiver only while collecting, so the other writer can collect the next
        // batch while this one commits.
        let got = rx.lock().await.recv_many(&mut jobs, MAX_BATCH).await;
        if got == 0 {
            return;
        }
        let items: Vec<(InboundRecord, Envelope)> = jobs
            .iter()
            .map(|j| (j.record.clone(), j.envelope.clone()))
            .collect();
        match crate::store::accept_inbound_many(&db, &items).await {
            Ok(results) => {
                let mut events = Vec::new();
                for (job, result) in jobs.drain(..).zip(results) {
                    if matches!(result, Acceptance::New { .. }) {
                        events.push(job.envelope);
                    }
                    let _ = job.reply.send(Ok(result));
                }
                outbox.dispatch(events);
            }
            Err(err) if !err.is_conflict() => {
                // The database is failing: don't make every job wait out its own timeout.
                tracing::warn!(error = %err, count = jobs.len(), "storing inbound messages failed");
                let reason = err.to_string();
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(reason.clone()));
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, count = jobs.len(), "batch conflicted; storing one by one");
                for job in jobs.drain(..) {
                    let result = one(&db, &job).await;
                    if matches!(result, Ok(Acceptance::New { .. })) {
                        outbox.dispatch([job.envelope.clone()]);
                    }
                    let _ = job.reply.send(result.map_err(|e| e.to_string()));
                }
            }
        }
    }
}

async fn one(db: &DatabaseConnection, job: &Job) -> Result<Acceptance, StoreError> {
    crate::store::accept_inbound(db, &job.record, &job.envelope).await
}
