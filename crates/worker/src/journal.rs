//! The in-process bus's journal in a SQLite file ([`kefu_bus::Journal`]): what lets `kefu dev`
//! be killed mid-stream and, restarted on the same data directory, deliver every event it had
//! accepted. Appends commit before the publish returns; settlements (deliveries, acks, dead
//! letters) are batched by one writer task, since losing them in a crash only redelivers.
//!
//! The table is the bus's own (`bus_journal` in `bus.db`), not a service's: the services'
//! migrators never see it.

use kefu_bus::{BusError, Envelope, Journal, JournalEntry, Settlement, TraceContext};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

const CREATE: &str = "CREATE TABLE IF NOT EXISTS bus_journal (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    event_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    occurred_at_ms INTEGER NOT NULL,
    trace_context TEXT NOT NULL,
    payload BLOB NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 0,
    dead INTEGER NOT NULL DEFAULT 0
)";

/// Commands at most in one transaction of the writer.
const MAX_BATCH: usize = 1_024;
/// Rows per INSERT statement (SQLite binds at most 32,766 values per statement).
const ROWS_PER_INSERT: usize = 500;

enum Command {
    Append(Vec<JournalEntry>, oneshot::Sender<Result<(), String>>),
    Settle(Settlement),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug)]
pub struct SqliteJournal {
    db: DatabaseConnection,
    tx: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Append(..) => "Append",
            Command::Settle(_) => "Settle",
            Command::Flush(_) => "Flush",
        })
    }
}

impl SqliteJournal {
    /// Opens the journal in `db` (a SQLite connection of its own), creating its table, and
    /// starts its writer.
    pub async fn open(db: DatabaseConnection) -> Result<Arc<Self>, DbErr> {
        db.execute_unprepared(CREATE).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write(db.clone(), rx));
        Ok(Arc::new(Self { db, tx }))
    }
}

fn err(e: impl std::fmt::Display) -> BusError {
    BusError::Journal(format!("bus journal: {e}"))
}

#[async_trait::async_trait]
impl Journal for SqliteJournal {
    async fn load(&self) -> Result<Vec<JournalEntry>, BusError> {
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT id, queue, event_id, tenant_id, event_type, occurred_at_ms, \
                 trace_context, payload, deliveries, dead FROM bus_journal ORDER BY id",
            ))
            .await
            .map_err(err)?;
        rows.into_iter()
            .map(|r| {
                let get_s = |c: &str| r.try_get::<String>("", c).map_err(err);
                let trace: TraceContext =
                    serde_json::from_str(&get_s("trace_context")?).map_err(err)?;
                let ms: i64 = r.try_get("", "occurred_at_ms").map_err(err)?;
                Ok(JournalEntry {
                    id: r.try_get::<i64>("", "id").map_err(err)? as u64,
                    queue: get_s("queue")?,
                    envelope: Envelope {
                        event_id: get_s("event_id")?.parse().map_err(err)?,
                        tenant_id: get_s("tenant_id")?,
                        event_type: get_s("event_type")?,
                        occurred_at: chrono::DateTime::from_timestamp_millis(ms)
                            .ok_or_else(|| err("occurred_at out of range"))?,
                        trace_context: trace,
                        payload: r.try_get::<Vec<u8>>("", "payload").map_err(err)?.into(),
                    },
                    deliveries: r.try_get::<i64>("", "deliveries").map_err(err)? as u32,
                    dead: r.try_get::<i64>("", "dead").map_err(err)? != 0,
                })
            })
            .collect()
    }

    async fn append(&self, entries: Vec<JournalEntry>) -> Result<(), BusError> {
        let (done, result) = oneshot::channel();
        self.tx
            .send(Command::Append(entries, done))
            .map_err(|_| BusError::Closed)?;
        result
            .await
            .map_err(|_| BusError::Closed)?
            .map_err(BusError::Journal)
    }

    fn settle(&self, settlement: Settlement) {
        let _ = self.tx.send(Command::Settle(settlement));
    }

    async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.tx.send(Command::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }
}

/// The writer: everything waiting, in order, in one transaction.
async fn write(db: DatabaseConnection, mut rx: mpsc::UnboundedReceiver<Command>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let outcome = apply(&db, &batch).await.map_err(|e| e.to_string());
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "writing the bus journal failed");
        }
        for command in batch {
            match command {
                Command::Append(_, done) => {
                    let _ = done.send(outcome.clone());
                }
                Command::Flush(done) => {
                    let _ = done.send(());
                }
                Command::Settle(_) => {}
            }
        }
    }
}

async fn apply(db: &DatabaseConnection, batch: &[Command]) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    for command in batch {
        match command {
            Command::Append(entries, _) => {
                for chunk in entries.chunks(ROWS_PER_INSERT) {
                    txn.execute_raw(insert(chunk)).await?;
                }
            }
            Command::Settle(s) => {
                let (sql, values): (&str, Vec<sea_orm::Value>) = match *s {
                    Settlement::Delivered { id, deliveries } => (
                        "UPDATE bus_journal SET deliveries = ? WHERE id = ?",
                        vec![i64::from(deliveries).into(), (id as i64).into()],
                    ),
                    Settlement::Removed { id } => (
                        "DELETE FROM bus_journal WHERE id = ?",
                        vec![(id as i64).into()],
                    ),
                    Settlement::Dead { id } => (
                        "UPDATE bus_journal SET dead = 1 WHERE id = ?",
                        vec![(id as i64).into()],
                    ),
                };
                txn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    sql,
                    values,
                ))
                .await?;
            }
            Command::Flush(_) => {}
        }
    }
    txn.commit().await
}

fn insert(entries: &[JournalEntry]) -> Statement {
    let mut sql = String::from(
        "INSERT INTO bus_journal (id, queue, event_id, tenant_id, event_type, occurred_at_ms, \
         trace_context, payload, deliveries, dead) VALUES ",
    );
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(entries.len() * 10);
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?,?)");
        let env = &e.envelope;
        values.extend([
            (e.id as i64).into(),
            e.queue.clone().into(),
            env.event_id.to_string().into(),
            env.tenant_id.clone().into(),
            env.event_type.clone().into(),
            env.occurred_at.timestamp_millis().into(),
            serde_json::to_string(&env.trace_context)
                .unwrap_or_else(|_| "{}".into())
                .into(),
            env.payload.to_vec().into(),
            i64::from(e.deliveries).into(),
            i64::from(e.dead).into(),
        ]);
    }
    Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
}
