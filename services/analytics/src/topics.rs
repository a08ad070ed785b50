//! Hot topics: the most frequent intents, FAQ hits, tags and handoff reasons of a range of local
//! days (from the day labels), and the questions the bot missed, clustered by wording (from the
//! message facts), each against the period of the same length before.

use crate::attendance::next_day;
use crate::rollup::LabelKind;
use crate::store::entities::fact_message;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use kefu_store::Scoped;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Missed questions read per request (the most recent).
const MAX_QUESTIONS: u64 = 20_000;
/// Two questions whose character-bigram Dice similarity reaches this are alike.
pub const SIMILAR: f64 = 0.5;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topic {
    pub label: String,
    pub count: u64,
    pub previous: u64,
    pub daily: Vec<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cluster {
    pub representative: String,
    pub count: u64,
    pub previous: u64,
    pub examples: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct HotTopics {
    pub days: Vec<i64>,
    pub lists: BTreeMap<&'static str, Vec<Topic>>,
    pub unanswered: Vec<Cluster>,
}

/// The starts of the local days of `[from, to)` (from and to at local midnights).
pub fn days_of(from: i64, to: i64, zone: Tz) -> Vec<i64> {
    let mut out = Vec::new();
    let mut d = from;
    while d < to && out.len() < 400 {
        out.push(d);
        d = next_day(d, zone);
    }
    out
}

/// A question as compared: lower case, half-width, without spaces and punctuation.
pub fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

fn bigrams(s: &str) -> BTreeSet<(char, char)> {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() == 1 {
        return [(chars[0], '\0')].into();
    }
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Dice similarity of two bigram sets.
fn dice(a: &BTreeSet<(char, char)>, b: &BTreeSet<(char, char)>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.intersection(b).count();
    2.0 * shared as f64 / (a.len() + b.len()) as f64
}

/// Clusters questions (with how often each was asked in the range and before it): the most
/// asked first, each joining the most similar cluster at or above [`SIMILAR`], else starting
/// one.
pub fn cluster(current: &HashMap<String, u64>, previous: &HashMap<String, u64>) -> Vec<Cluster> {
    // Identical after normalising: one question (its most frequent spelling shown).
    let mut by_norm: BTreeMap<String, (u64, Vec<(u64, String)>)> = BTreeMap::new();
    for (text, n) in current {
        let e = by_norm.entry(normalise(text)).or_default();
        e.0 += n;
        e.1.push((*n, text.clone()));
    }
    // (times asked, normalised text, its spellings by frequency)
    type Question = (u64, String, Vec<(u64, String)>);
    let mut questions: Vec<Question> = by_norm
        .into_iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, (n, mut spellings))| {
            spellings.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            (n, k, spellings)
        })
        .collect();
    questions.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut clusters: Vec<(BTreeSet<(char, char)>, Cluster)> = Vec::new();
    for (n, norm, spellings) in questions {
        let grams = bigrams(&norm);
        let best = clusters
            .iter()
            .enumerate()
            .map(|(i, (g, _))| (i, dice(g, &grams)))
            .filter(|(_, s)| *s >= SIMILAR)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let shown = spellings[0].1.clone();
        match best {
            Some((i, _)) => {
                let c = &mut clusters[i].1;
                c.count += n;
                if c.examples.len() < 10 {
                    c.examples.push(shown);
                }
            }
            None => clusters.push((
                grams,
                Cluster {
                    representative: shown.clone(),
                    count: n,
                    previous: 0,
                    examples: vec![shown],
                },
            )),
        }
    }
    for (text, n) in previous {
        let grams = bigrams(&normalise(text));
        if let Some((i, _)) = clusters
            .iter()
            .enumerate()
            .map(|(i, (g, _))| (i, dice(g, &grams)))
            .filter(|(_, s)| *s >= SIMILAR)
            .max_by(|a, b| a.1.total_cmp(&b.1))
        {
            clusters[i].1.previous += n;
        }
    }
    let mut out: Vec<Cluster> = clusters.into_iter().map(|(_, c)| c).collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.representative.cmp(&b.representative))
    });
    out
}

/// Hot topics of `[from, to)` (local midnights) for `merchant` (empty: the whole tenant).
pub async fn hot_topics<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    merchant: &str,
    from: i64,
    to: i64,
    zone: Tz,
    limit: usize,
) -> Result<HotTopics, DbErr> {
    let days = days_of(from, to, zone);
    let prev_from = from - (to - from);
    let mut q = Query::select();
    q.columns([Alias::new("kind"), Alias::new("label"), Alias::new("day")])
        .expr_as(crate::store::rollups::sum_of("n"), Alias::new("n"))
        .from(Alias::new("rollup_labels"))
        .and_where(Expr::col(Alias::new("tenant_id")).eq(tenant))
        .and_where(Expr::col(Alias::new("day")).gte(prev_from))
        .and_where(Expr::col(Alias::new("day")).lt(to))
        .group_by_columns([Alias::new("kind"), Alias::new("label"), Alias::new("day")]);
    if !merchant.is_empty() {
        q.and_where(Expr::col(Alias::new("merchant_id")).eq(merchant));
    }
    let mut topics: BTreeMap<(String, String), Topic> = BTreeMap::new();
    for row in db.query_all(&q).await? {
        let kind: String = row.try_get("", "kind")?;
        let label: String = row.try_get("", "label")?;
        let day: i64 = row.try_get("", "day")?;
        let n = u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0);
        let t = topics
            .entry((kind, label.clone()))
            .or_insert_with(|| Topic {
                label,
                daily: vec![0; days.len()],
                ..Topic::default()
            });
        if day >= from {
            t.count += n;
            if let Some(i) = days.iter().position(|d| *d == day) {
                t.daily[i] += n;
            }
        } else {
            t.previous += n;
        }
    }
    let mut lists: BTreeMap<&'static str, Vec<Topic>> = BTreeMap::new();
    for kind in [
        LabelKind::Intent,
        LabelKind::Faq,
        LabelKind::Tag,
        LabelKind::HandoffReason,
    ] {
        let mut list: Vec<Topic> = topics
            .iter()
            .filter(|((k, _), t)| k == kind.as_str() && t.count > 0)
            .map(|(_, t)| t.clone())
            .collect();
        list.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
        list.truncate(limit);
        lists.insert(kind.as_str(), list);
    }
    let mut questions = fact_message::Entity::of_tenant(tenant)
        .select_only()
        .column(fact_message::Column::Question)
        .column(fact_message::Column::At)
        .filter(fact_message::Column::Miss.eq(true))
        .filter(fact_message::Column::At.gte(prev_from))
        .filter(fact_message::Column::At.lt(to))
        .order_by_desc(fact_message::Column::At)
        .limit(MAX_QUESTIONS);
    if !merchant.is_empty() {
        questions = questions.filter(fact_message::Column::MerchantId.eq(merchant));
    }
    let (mut current, mut previous): (HashMap<String, u64>, HashMap<String, u64>) =
        Default::default();
    for (text, at) in questions.into_tuple::<(String, i64)>().all(db).await? {
        if text.trim().is_empty() {
            continue;
        }
        let side = if at >= from {
            &mut current
        } else {
            &mut previous
        };
        *side.entry(text).or_default() += 1;
    }
    let mut unanswered = cluster(&current, &previous);
    unanswered.truncate(limit);
    Ok(HotTopics {
        days,
        lists,
        unanswered,
    })
}

/// A local day's date, for labels.
pub fn date_of(day: i64, zone: Tz) -> String {
    DateTime::<Utc>::from_timestamp_millis(day)
        .unwrap_or_default()
        .with_timezone(&zone)
        .format("%Y-%m-%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alike_questions_cluster_and_count_against_before() {
        let current: HashMap<String, u64> = [
            ("戒指可以改圈号吗".to_owned(), 3),
            ("戒指能改圈号吗？".to_owned(), 2),
            ("戒指改圈号要多久".to_owned(), 1),
            ("Do you ship to Macau?".to_owned(), 2),
            ("do you ship to macau".to_owned(), 1),
        ]
        .into();
        let previous: HashMap<String, u64> = [("戒指可以改圈号吗".to_owned(), 4)].into();
        let c = cluster(&current, &previous);
        // "Can it be resized" twice (one wording with 能), "shipping to Macau", and "how long
        // does resizing take", a different question.
        assert_eq!(c.len(), 3, "{c:#?}");
        assert_eq!(c[0].representative, "戒指可以改圈号吗");
        assert_eq!(c[0].count, 5);
        assert_eq!(c[0].previous, 4);
        assert_eq!(c[1].count, 3);
        assert_eq!(c[1].representative, "Do you ship to Macau?");
        assert_eq!(c[2].representative, "戒指改圈号要多久");
    }

    #[test]
    fn normalising_drops_width_case_and_punctuation() {
        assert_eq!(normalise("ＡＢＣ， 退货？"), "abc退货");
    }
}
