//! The scorecard: weighted categories, each starting at 100 and losing the points of its
//! violations (never below 0); a conversation's score is the weighted mean of the categories
//! its policy's rules use, rounded. A critical violation fails the conversation: score 0.

use kefu_crd::qa::Severity;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub weight: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scorecard {
    /// The categories the policy's rules use, in the scorecard's order.
    pub categories: Vec<Category>,
}

/// A conversation's score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Score {
    /// 0–100.
    pub score: u32,
    /// A critical violation.
    pub failed: bool,
    /// Each category's own score.
    pub categories: Vec<(String, u32)>,
}

impl Scorecard {
    /// The scorecard of a spec, keeping the categories that `used` (the rules' categories)
    /// name.
    pub fn new<'a>(
        spec: &kefu_crd::qa::Scorecard,
        used: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let used: Vec<&str> = used.into_iter().collect();
        Self {
            categories: spec
                .categories
                .iter()
                .filter(|c| used.contains(&c.id.as_str()))
                .map(|c| Category {
                    id: c.id.clone(),
                    name: c.name.clone().unwrap_or_else(|| c.id.clone()),
                    weight: c.weight,
                })
                .collect(),
        }
    }

    /// The score of violations given as (category, severity, points).
    pub fn score<'a>(
        &self,
        violations: impl IntoIterator<Item = (&'a str, Severity, u32)>,
    ) -> Score {
        let mut lost = vec![0u32; self.categories.len()];
        let mut failed = false;
        for (category, severity, points) in violations {
            if severity == Severity::Critical {
                failed = true;
            }
            if let Some(i) = self.categories.iter().position(|c| c.id == category) {
                lost[i] = lost[i].saturating_add(points);
            }
        }
        let categories: Vec<(String, u32)> = self
            .categories
            .iter()
            .zip(&lost)
            .map(|(c, l)| (c.id.clone(), 100u32.saturating_sub(*l)))
            .collect();
        let total_weight: u32 = self.categories.iter().map(|c| c.weight).sum();
        let score = if failed {
            0
        } else if total_weight == 0 {
            100
        } else {
            let weighted: u64 = self
                .categories
                .iter()
                .zip(&categories)
                .map(|(c, (_, s))| u64::from(c.weight) * u64::from(*s))
                .sum();
            // Rounded half up, in integers.
            ((weighted * 2 + u64::from(total_weight)) / (2 * u64::from(total_weight))) as u32
        };
        Score {
            score,
            failed,
            categories,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_categories_and_a_critical_failure() {
        let spec = kefu_crd::qa::Scorecard::default();
        let card = Scorecard::new(&spec, ["attitude", "etiquette", "timeliness"]);
        assert_eq!(card.categories.len(), 3);
        let clean = card.score([]);
        assert_eq!((clean.score, clean.failed), (100, false));
        // Etiquette (15 of 65) loses 10: 100 - 15*10/65 = 97.7 → 98.
        let minor = card.score([("etiquette", Severity::Minor, 10)]);
        assert_eq!(minor.score, 98);
        let capped = card.score([
            ("timeliness", Severity::Major, 80),
            ("timeliness", Severity::Major, 80),
        ]);
        assert_eq!(capped.categories[1], ("timeliness".to_owned(), 0));
        let critical = card.score([("attitude", Severity::Critical, 100)]);
        assert_eq!((critical.score, critical.failed), (0, true));
    }
}
