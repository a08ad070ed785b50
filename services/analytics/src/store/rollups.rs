//! Reading and writing rollup cells and day labels. Cells are read, added to and written back
//! in the caller's transaction, which on PostgreSQL holds the tenant's rollup lock
//! ([`lock_tenants`]), so two replicas never add to the same cell from the same old value.
//! Labels are plain increments.

use crate::counters::{Counter, Hist, Values, decode_hist_into, encode_hist};
use crate::rollup::{CellKey, Delta, Dims, Grain, LabelKey};
use crate::store::migration::{LABEL_KEY, ROLLUP_KEY};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, OnConflict, Query, SimpleExpr, Value, ValueTuple,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult};
use std::collections::HashMap;

/// Rows per statement (SQLite allows 32,766 bound values).
const CHUNK: usize = 200;

fn rollups() -> Alias {
    Alias::new("rollups")
}

fn key_values(k: &CellKey) -> Vec<Value> {
    vec![
        k.tenant.clone().into(),
        k.grain.as_str().into(),
        k.bucket.into(),
        k.dims.merchant.clone().into(),
        k.dims.channel.clone().into(),
        k.dims.queue.clone().into(),
        k.dims.agent.clone().into(),
        k.dims.tier.clone().into(),
    ]
}

fn key_tuple() -> Expr {
    Expr::tuple(ROLLUP_KEY.iter().map(|c| Expr::col(Alias::new(*c))))
}

/// Serialises the writers of these tenants (ingest, settling, attendance) until the transaction
/// ends (PostgreSQL; SQLite has one writer anyway). Taken before reading what the transaction
/// derives from, and in a fixed order so two batches cannot deadlock.
pub async fn lock_tenants<C: ConnectionTrait>(db: &C, tenants: &[&str]) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut sorted: Vec<&str> = tenants.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for t in sorted {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext('kefu.analytics.rollups.' || $1))",
            [t.into()],
        ))
        .await?;
    }
    Ok(())
}

/// A stored cell's key and values.
pub fn read_cell(row: &QueryResult) -> Result<(CellKey, Values), DbErr> {
    let s = |c: &str| row.try_get::<String>("", c);
    let grain = s("grain")?;
    let key = CellKey {
        tenant: s("tenant_id")?,
        grain: Grain::parse(&grain).unwrap_or(Grain::Day),
        bucket: row.try_get::<i64>("", "bucket")?,
        dims: Dims {
            merchant: s("merchant_id")?,
            channel: s("channel")?,
            queue: s("queue_id")?,
            agent: s("agent_id")?,
            tier: s("tier")?,
        },
    };
    Ok((key, read_values(row)?))
}

/// The counters and histograms of a row that selected them.
pub fn read_values(row: &QueryResult) -> Result<Values, DbErr> {
    let mut v = Values::new();
    for c in Counter::ALL {
        v.add(*c, row.try_get::<i64>("", c.column())?);
    }
    for h in Hist::ALL {
        decode_hist_into(
            &row.try_get::<String>("", h.column())?,
            &mut v.hists[h.index()],
        );
    }
    Ok(v)
}

/// The columns of a whole cell, key first.
pub fn all_columns() -> Vec<Alias> {
    ROLLUP_KEY
        .iter()
        .copied()
        .chain(Counter::ALL.iter().map(|c| c.column()))
        .chain(Hist::ALL.iter().map(|h| h.column()))
        .map(Alias::new)
        .collect()
}

/// The stored cells among `keys`.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    keys: &[&CellKey],
) -> Result<HashMap<CellKey, Values>, DbErr> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let q = Query::select()
            .columns(all_columns())
            .from(rollups())
            .and_where(key_tuple().in_tuples(chunk.iter().map(|k| ValueTuple::Many(key_values(k)))))
            .to_owned();
        for row in db.query_all(&q).await? {
            let (k, v) = read_cell(&row)?;
            out.insert(k, v);
        }
    }
    Ok(out)
}

/// Adds `delta` to the stored cells and labels.
pub async fn apply<C: ConnectionTrait>(db: &C, delta: &Delta) -> Result<(), DbErr> {
    let mut keys: Vec<&CellKey> = delta.cells.keys().collect();
    keys.sort_unstable();
    for chunk in keys.chunks(CHUNK) {
        let stored = load(db, chunk).await?;
        let mut upserts = Vec::with_capacity(chunk.len());
        let mut empty = Vec::new();
        for k in chunk {
            let mut v = stored.get(*k).cloned().unwrap_or_else(Values::new);
            v.merge(&delta.cells[*k]);
            if v.is_zero() {
                if stored.contains_key(*k) {
                    empty.push(*k);
                }
            } else {
                upserts.push((*k, v));
            }
        }
        write(db, &upserts).await?;
        if !empty.is_empty() {
            let q = Query::delete()
                .from_table(rollups())
                .and_where(
                    key_tuple().in_tuples(empty.iter().map(|k| ValueTuple::Many(key_values(k)))),
                )
                .to_owned();
            db.execute(&q).await?;
        }
    }
    apply_labels(db, &delta.labels).await
}

/// Writes whole cells (replacing what is stored).
pub async fn write<C: ConnectionTrait>(db: &C, cells: &[(&CellKey, Values)]) -> Result<(), DbErr> {
    if cells.is_empty() {
        return Ok(());
    }
    let value_columns: Vec<Alias> = Counter::ALL
        .iter()
        .map(|c| c.column())
        .chain(Hist::ALL.iter().map(|h| h.column()))
        .map(Alias::new)
        .collect();
    let mut q = Query::insert();
    q.into_table(rollups()).columns(all_columns());
    for (k, v) in cells {
        let mut row: Vec<SimpleExpr> = key_values(k).into_iter().map(SimpleExpr::from).collect();
        row.extend(Counter::ALL.iter().map(|c| SimpleExpr::from(v.get(*c))));
        row.extend(
            Hist::ALL
                .iter()
                .map(|h| SimpleExpr::from(encode_hist(&v.hists[h.index()]))),
        );
        q.values_panic(row);
    }
    q.on_conflict(
        OnConflict::columns(ROLLUP_KEY.iter().map(|c| Alias::new(*c)))
            .update_columns(value_columns)
            .to_owned(),
    );
    db.execute(&q).await?;
    Ok(())
}

/// Adds label counts.
pub async fn apply_labels<C: ConnectionTrait>(
    db: &C,
    labels: &HashMap<LabelKey, i64>,
) -> Result<(), DbErr> {
    let mut keys: Vec<(&LabelKey, &i64)> = labels.iter().filter(|(_, n)| **n != 0).collect();
    keys.sort_unstable();
    let table = Alias::new("rollup_labels");
    for chunk in keys.chunks(CHUNK) {
        let mut q = Query::insert();
        q.into_table(table.clone())
            .columns(LABEL_KEY.iter().copied().chain(["n"]).map(Alias::new));
        for (k, n) in chunk {
            q.values_panic([
                SimpleExpr::from(k.tenant.clone()),
                k.day.into(),
                k.kind.as_str().into(),
                k.label.clone().into(),
                k.merchant.clone().into(),
                (**n).into(),
            ]);
        }
        q.on_conflict(
            OnConflict::columns(LABEL_KEY.iter().map(|c| Alias::new(*c)))
                .value(
                    Alias::new("n"),
                    Expr::col((table.clone(), Alias::new("n")))
                        .add(Expr::col((Alias::new("excluded"), Alias::new("n")))),
                )
                .to_owned(),
        );
        db.execute(&q).await?;
    }
    Ok(())
}

/// `CAST(SUM(column) AS BIGINT)`: a sum both backends return as a 64-bit integer (PostgreSQL's
/// SUM of a bigint is numeric).
pub fn sum_of(column: &str) -> sea_orm::sea_query::FunctionCall {
    sea_orm::sea_query::Func::cast_as(
        sea_orm::sea_query::Func::sum(Expr::col(Alias::new(column))),
        Alias::new("BIGINT"),
    )
}

/// Deletes minute cells older than `before` (ms); returns how many.
pub async fn prune_minutes<C: ConnectionTrait>(db: &C, before: i64) -> Result<u64, DbErr> {
    let q = Query::delete()
        .from_table(rollups())
        .and_where(Expr::col(Alias::new("grain")).eq(Grain::Minute.as_str()))
        .and_where(Expr::col(Alias::new("bucket")).lt(before))
        .to_owned();
    Ok(db.execute(&q).await?.rows_affected())
}
