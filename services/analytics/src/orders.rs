//! Orders and who won them: an order the order system reported (`order.placed`) is attributed
//! to the conversations its customer had within the tenant's attribution window before it —
//! the last agent who wrote to the customer (`last_agent`), the first (`first_agent`), or equal
//! shares of every agent (`split`); the bot when no agent wrote; nobody when the customer had
//! no conversation in the window. Counted at the order's instant with the dimensions of the
//! conversation it is attributed to. Re-derived when a message of the customer arrives late
//! (what was applied is stored with the order and taken back first), so arrival order and
//! replays do not matter.

use crate::counters::Counter;
use crate::facts::{MessageFact, Sender};
use crate::rollup::{Ctx, Delta, Dims};
use crate::settings::{Rule, Settings};
use crate::store::entities::{fact_message, fact_order};
use chrono_tz::Tz;
use kefu_store::Scoped;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `order.placed`, as analytics keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderFact {
    pub order_id: String,
    pub customer_id: String,
    pub merchant_id: String,
    pub placed_at: i64,
    pub amount_cents: i64,
    pub paid_cents: i64,
}

/// One share of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub agent: String,
    pub merchant: String,
    pub channel: String,
    pub queue: String,
    pub tier: String,
    /// Thousandths of the order.
    pub milli: i64,
    pub amount_cents: i64,
    pub paid_cents: i64,
    /// No agent took part: the bot's.
    pub bot: bool,
}

/// What an order's attribution added to the rollups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub at: i64,
    /// The reporting time zone the buckets were computed in.
    pub zone: String,
    pub shares: Vec<Share>,
}

/// A public message of the customer's conversations (customer, bot or agent), as attribution
/// sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touch {
    pub at: i64,
    /// The agent who wrote it ("" for the customer's or the bot's).
    pub agent: String,
    pub merchant: String,
    pub channel: String,
    pub queue: String,
    pub tier: String,
}

impl Touch {
    pub fn of(m: &MessageFact) -> Option<Touch> {
        if m.internal || m.sender == Sender::System {
            return None;
        }
        Some(Touch {
            at: m.at.timestamp_millis(),
            agent: if m.sender == Sender::Agent {
                m.agent_id.clone()
            } else {
                String::new()
            },
            merchant: m.conv.merchant_id.clone(),
            channel: m.conv.channel.clone(),
            queue: m.conv.queue_id.clone(),
            tier: m.conv.tier.clone(),
        })
    }

    fn share(&self, milli: i64, amount: i64, paid: i64, bot: bool) -> Share {
        Share {
            agent: self.agent.clone(),
            merchant: self.merchant.clone(),
            channel: self.channel.clone(),
            queue: self.queue.clone(),
            tier: self.tier.clone(),
            milli,
            amount_cents: amount,
            paid_cents: paid,
            bot,
        }
    }
}

/// The order's shares. `touches` are the customer's public messages; only those within
/// `[placed_at − window, placed_at]` count. Pure.
pub fn attribute(o: &OrderFact, touches: &[Touch], rule: Rule, window_ms: i64) -> Vec<Share> {
    let mut inside: Vec<&Touch> = touches
        .iter()
        .filter(|t| t.at <= o.placed_at && t.at >= o.placed_at - window_ms)
        .collect();
    inside.sort_by(|a, b| (a.at, &a.agent).cmp(&(b.at, &b.agent)));
    let agents: Vec<&&Touch> = inside.iter().filter(|t| !t.agent.is_empty()).collect();
    let (amount, paid) = (o.amount_cents, o.paid_cents);
    match (agents.first(), agents.last()) {
        (Some(first), Some(last)) => match rule {
            Rule::LastAgent => vec![last.share(1000, amount, paid, false)],
            Rule::FirstAgent => vec![first.share(1000, amount, paid, false)],
            Rule::Split => {
                // Each agent once, with the dimensions of their last message; shares in the
                // order the agents first wrote, the remainders to the last.
                let mut order: Vec<&str> = Vec::new();
                let mut latest: BTreeMap<&str, &Touch> = BTreeMap::new();
                for t in &agents {
                    if !latest.contains_key(t.agent.as_str()) {
                        order.push(&t.agent);
                    }
                    latest.insert(&t.agent, t);
                }
                let n = order.len() as i64;
                order
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        let rest = i as i64 == n - 1;
                        let part = |total: i64| total / n + if rest { total % n } else { 0 };
                        latest[a].share(part(1000), part(amount), part(paid), false)
                    })
                    .collect()
            }
        },
        _ => inside
            .last()
            .map(|t| vec![t.share(1000, amount, paid, true)])
            .unwrap_or_default(),
    }
}

/// Adds (sign 1) or takes back (sign −1) what an order contributed.
pub fn apply(delta: &mut Delta, tenant: &str, a: &Applied, sign: i64, now: i64) {
    let ctx = Ctx {
        tenant,
        zone: a.zone.parse().unwrap_or(Tz::UTC),
        now,
    };
    for s in &a.shares {
        let dims = Dims {
            merchant: s.merchant.clone(),
            channel: s.channel.clone(),
            queue: s.queue.clone(),
            agent: s.agent.clone(),
            tier: s.tier.clone(),
        };
        let mut add = |c: Counter, v: i64| {
            if v != 0 {
                delta.item(
                    &ctx,
                    a.at,
                    &dims,
                    crate::conversation::Item::Add(c as u16, v),
                    sign,
                );
            }
        };
        add(Counter::OrdersMilli, s.milli);
        add(Counter::RevenueCents, s.amount_cents);
        add(Counter::PaidCents, s.paid_cents);
        if s.bot {
            add(Counter::BotOrdersMilli, s.milli);
        }
    }
}

/// The customers' public messages from `from` to `to` (inclusive), by customer.
pub async fn touches<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    customers: &[String],
    from: i64,
    to: i64,
) -> Result<BTreeMap<String, Vec<Touch>>, DbErr> {
    let mut out: BTreeMap<String, Vec<Touch>> = BTreeMap::new();
    for chunk in customers.chunks(300) {
        let rows = fact_message::Entity::of_tenant(tenant)
            .filter(fact_message::Column::CustomerId.is_in(chunk.iter().cloned()))
            .filter(fact_message::Column::At.between(from, to))
            .filter(fact_message::Column::Internal.eq(false))
            .all(db)
            .await?;
        for r in rows {
            let customer = r.customer_id.clone();
            if let Some(t) = Touch::of(&crate::store::facts::message_of(r)) {
                out.entry(customer).or_default().push(t);
            }
        }
    }
    Ok(out)
}

fn fact_of(r: &fact_order::Model) -> OrderFact {
    OrderFact {
        order_id: r.order_id.clone(),
        customer_id: r.customer_id.clone(),
        merchant_id: r.merchant_id.clone(),
        placed_at: r.placed_at,
        amount_cents: r.amount_cents,
        paid_cents: r.paid_cents,
    }
}

/// Stores new orders (the first report of an order id counts; a later one changes nothing).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    orders: &[(uuid::Uuid, String, &OrderFact)],
) -> Result<(), DbErr> {
    if orders.is_empty() {
        return Ok(());
    }
    let rows: Vec<fact_order::ActiveModel> = orders
        .iter()
        .map(|(id, tenant, o)| fact_order::ActiveModel {
            tenant_id: Set(tenant.clone()),
            order_id: Set(o.order_id.clone()),
            event_id: Set(*id),
            customer_id: Set(o.customer_id.clone()),
            merchant_id: Set(o.merchant_id.clone()),
            placed_at: Set(o.placed_at),
            amount_cents: Set(o.amount_cents),
            paid_cents: Set(o.paid_cents),
            applied: Set(String::new()),
        })
        .collect();
    for chunk in rows.chunks(300) {
        fact_order::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([fact_order::Column::TenantId, fact_order::Column::OrderId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Re-derives the attribution of the tenant's orders `order_ids` and of the orders of
/// `customers` placed within a window after `(customer, at)` messages, adding the differences
/// to `delta` and storing what each order now contributes.
pub async fn rederive<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    settings: &Settings,
    order_ids: &BTreeSet<String>,
    messages: &[(String, i64)],
    now: i64,
    delta: &mut Delta,
) -> Result<(), DbErr> {
    let window = settings.attribution_window_s * 1000;
    let mut rows: BTreeMap<String, fact_order::Model> = BTreeMap::new();
    let ids: Vec<String> = order_ids.iter().cloned().collect();
    for chunk in ids.chunks(300) {
        for r in fact_order::Entity::of_tenant(tenant)
            .filter(fact_order::Column::OrderId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            rows.insert(r.order_id.clone(), r);
        }
    }
    let mut by_customer: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for (c, at) in messages.iter().filter(|(c, _)| !c.is_empty()) {
        let e = by_customer.entry(c).or_insert((*at, *at));
        e.0 = e.0.min(*at);
        e.1 = e.1.max(*at);
    }
    for (customer, (lo, hi)) in by_customer {
        for r in fact_order::Entity::of_tenant(tenant)
            .filter(fact_order::Column::CustomerId.eq(customer))
            .filter(fact_order::Column::PlacedAt.between(lo, hi + window))
            .all(db)
            .await?
        {
            rows.insert(r.order_id.clone(), r);
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let customers: Vec<String> = rows
        .values()
        .map(|r| r.customer_id.clone())
        .filter(|c| !c.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let lo = rows.values().map(|r| r.placed_at).min().unwrap_or(0) - window;
    let hi = rows.values().map(|r| r.placed_at).max().unwrap_or(0);
    let touches = touches(db, tenant, &customers, lo, hi).await?;
    for (_, r) in rows {
        let old: Applied = serde_json::from_str(&r.applied).unwrap_or_default();
        let o = fact_of(&r);
        let none = Vec::new();
        let t = if o.customer_id.is_empty() {
            &none
        } else {
            touches.get(&o.customer_id).unwrap_or(&none)
        };
        let new = Applied {
            at: o.placed_at,
            zone: settings.zone.name().to_owned(),
            shares: attribute(&o, t, settings.rule, window),
        };
        if new == old && !r.applied.is_empty() {
            continue;
        }
        apply(delta, tenant, &old, -1, now);
        apply(delta, tenant, &new, 1, now);
        fact_order::Entity::update_many()
            .col_expr(
                fact_order::Column::Applied,
                sea_orm::sea_query::Expr::value(serde_json::to_string(&new).unwrap_or_default()),
            )
            .filter(fact_order::Column::TenantId.eq(tenant))
            .filter(fact_order::Column::OrderId.eq(o.order_id.as_str()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The contributions of the tenant's orders placed in `[d0, d1)`, derived afresh from the facts
/// (the correctness check).
pub async fn recompute<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    settings: &Settings,
    d0: i64,
    d1: i64,
    now: i64,
    delta: &mut Delta,
) -> Result<(), DbErr> {
    let window = settings.attribution_window_s * 1000;
    let rows = fact_order::Entity::of_tenant(tenant)
        .filter(fact_order::Column::PlacedAt.gte(d0))
        .filter(fact_order::Column::PlacedAt.lt(d1))
        .all(db)
        .await?;
    let customers: Vec<String> = rows
        .iter()
        .map(|r| r.customer_id.clone())
        .filter(|c| !c.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let touches = touches(db, tenant, &customers, d0 - window, d1).await?;
    let none = Vec::new();
    for r in &rows {
        let o = fact_of(r);
        let t = touches.get(&o.customer_id).unwrap_or(&none);
        let a = Applied {
            at: o.placed_at,
            zone: settings.zone.name().to_owned(),
            shares: attribute(&o, t, settings.rule, window),
        };
        apply(delta, tenant, &a, 1, now);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(at: i64, agent: &str, channel: &str) -> Touch {
        Touch {
            at,
            agent: agent.to_owned(),
            merchant: String::new(),
            channel: channel.to_owned(),
            queue: "q".to_owned(),
            tier: String::new(),
        }
    }

    fn order(at: i64) -> OrderFact {
        OrderFact {
            order_id: "o".into(),
            customer_id: "u".into(),
            merchant_id: String::new(),
            placed_at: at,
            amount_cents: 1_000,
            paid_cents: 500,
        }
    }

    const W: i64 = 24 * 3_600_000;

    #[test]
    fn the_rule_picks_the_agents_and_shares_add_up() {
        let t = [
            touch(10, "", "web"),
            touch(20, "a", "web"),
            touch(30, "b", "api"),
            touch(40, "a", "web"),
            touch(50, "", "web"),
        ];
        let o = order(100);
        let last = attribute(&o, &t, Rule::LastAgent, W);
        assert_eq!(
            (last.len(), last[0].agent.as_str(), last[0].milli),
            (1, "a", 1000)
        );
        let first = attribute(&o, &t, Rule::FirstAgent, W);
        assert_eq!(first[0].agent, "a");
        let split = attribute(&o, &t, Rule::Split, W);
        let agents: Vec<(&str, i64, i64, &str)> = split
            .iter()
            .map(|s| {
                (
                    s.agent.as_str(),
                    s.milli,
                    s.amount_cents,
                    s.channel.as_str(),
                )
            })
            .collect();
        assert_eq!(agents, [("a", 500, 500, "web"), ("b", 500, 500, "api")]);
        let three = [
            touch(1, "a", "web"),
            touch(2, "b", "web"),
            touch(3, "c", "web"),
        ];
        let split = attribute(&o, &three, Rule::Split, W);
        assert_eq!(split.iter().map(|s| s.milli).sum::<i64>(), 1000);
        assert_eq!(split.iter().map(|s| s.amount_cents).sum::<i64>(), 1000);
        assert_eq!(split.iter().map(|s| s.paid_cents).sum::<i64>(), 500);
    }

    #[test]
    fn the_bot_without_agents_nobody_outside_the_window() {
        let bot_only = [touch(10, "", "web")];
        let s = attribute(&order(100), &bot_only, Rule::LastAgent, W);
        assert_eq!((s.len(), s[0].bot, s[0].agent.as_str()), (1, true, ""));
        // Before the window, or after the order: nobody's.
        assert!(attribute(&order(W + 11), &bot_only, Rule::LastAgent, W).is_empty());
        assert!(attribute(&order(5), &bot_only, Rule::LastAgent, W).is_empty());
        // An agent's message after the order does not win it.
        let later = [touch(10, "", "web"), touch(200, "a", "web")];
        let s = attribute(&order(100), &later, Rule::LastAgent, W);
        assert!(s[0].bot);
    }
}
