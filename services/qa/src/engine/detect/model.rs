//! A binary linear classifier over hashed features: logistic regression trained with AdaGrad
//! and a small L2 penalty, classes weighted to balance, examples visited in a fixed
//! pseudo-random order, so the same data always gives the same weights.
//!
//! Why not a library: the model is a dot product over a few hundred slots and its training a
//! loop of the same size; the crates that offer logistic regression (linfa, smartcore) bring
//! dense matrix stacks for what is here thirty lines, and none hashes sparse text features.

use super::features::{DIM, Features};

#[derive(Clone, Debug)]
pub struct LinearModel {
    weights: Vec<f32>,
    /// Weights of the dense features (empty without an encoder).
    dense: Vec<f32>,
    bias: f32,
}

/// One labelled example.
#[derive(Clone, Debug)]
pub struct Example {
    pub features: Features,
    pub positive: bool,
}

/// Training knobs (fixed; the data, not the knobs, is what a change should touch).
#[derive(Clone, Copy, Debug)]
pub struct Training {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
}

impl Default for Training {
    fn default() -> Self {
        Self {
            epochs: 30,
            learning_rate: 0.4,
            l2: 1e-6,
            seed: 0x5eed_cafe,
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// xorshift64*: a fixed, dependency-free shuffle order.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

impl LinearModel {
    pub fn train(examples: &[Example], t: Training) -> Self {
        let mut weights = vec![0f32; DIM];
        let mut grad_sq = vec![1e-6f32; DIM];
        let dim = examples.first().map_or(0, |e| e.features.dense.len());
        let mut dense = vec![0f32; dim];
        let mut dense_sq = vec![1e-6f32; dim];
        let mut bias = 0f32;
        let mut bias_sq = 1e-6f32;
        let positives = examples.iter().filter(|e| e.positive).count().max(1) as f32;
        let negatives = examples.iter().filter(|e| !e.positive).count().max(1) as f32;
        let total = positives + negatives;
        // Each class weighs as much as the other in the loss.
        let (w_pos, w_neg) = (total / (2.0 * positives), total / (2.0 * negatives));
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = Rng(t.seed | 1);
        for _ in 0..t.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let e = &examples[i];
                let x = e.features.value;
                let z = bias
                    + e.features
                        .slots
                        .iter()
                        .map(|&s| weights[s as usize])
                        .sum::<f32>()
                        * x
                    + dot(&dense, &e.features.dense);
                let y = if e.positive { 1.0 } else { 0.0 };
                let cw = if e.positive { w_pos } else { w_neg };
                let g = (sigmoid(z) - y) * cw;
                for &s in &e.features.slots {
                    let s = s as usize;
                    let gs = g * x + t.l2 * weights[s];
                    grad_sq[s] += gs * gs;
                    weights[s] -= t.learning_rate * gs / grad_sq[s].sqrt();
                }
                for (k, v) in e.features.dense.iter().enumerate().take(dim) {
                    let gd = g * v + t.l2 * dense[k];
                    dense_sq[k] += gd * gd;
                    dense[k] -= t.learning_rate * gd / dense_sq[k].sqrt();
                }
                bias_sq += g * g;
                bias -= t.learning_rate * g / bias_sq.sqrt();
            }
        }
        Self {
            weights,
            dense,
            bias,
        }
    }

    /// The probability that the message is of the positive class.
    pub fn score(&self, f: &Features) -> f32 {
        let sparse: f32 = f.slots.iter().map(|&s| self.weights[s as usize]).sum();
        sigmoid(self.bias + sparse * f.value + dot(&self.dense, &f.dense))
    }
}

/// Precision, recall and F1 of predictions against labels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub true_negatives: usize,
}

impl Metrics {
    pub fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.true_positives += 1,
            (true, false) => self.false_positives += 1,
            (false, true) => self.false_negatives += 1,
            (false, false) => self.true_negatives += 1,
        }
    }

    pub fn precision(&self) -> f64 {
        let p = self.true_positives + self.false_positives;
        if p == 0 {
            1.0
        } else {
            self.true_positives as f64 / p as f64
        }
    }

    pub fn recall(&self) -> f64 {
        let p = self.true_positives + self.false_negatives;
        if p == 0 {
            1.0
        } else {
            self.true_positives as f64 / p as f64
        }
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    pub fn total(&self) -> usize {
        self.true_positives + self.false_positives + self.false_negatives + self.true_negatives
    }
}

impl std::fmt::Display for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "precision={:.3} recall={:.3} f1={:.3} (tp={} fp={} fn={} tn={})",
            self.precision(),
            self.recall(),
            self.f1(),
            self.true_positives,
            self.false_positives,
            self.false_negatives,
            self.true_negatives
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, positive: bool) -> Example {
        Example {
            features: Features::extract(text),
            positive,
        }
    }

    #[test]
    fn learns_a_separable_toy_problem_the_same_way_twice() {
        let data = vec![
            ex("you are stupid", true),
            ex("this is stupid", true),
            ex("stupid question", true),
            ex("thank you so much", false),
            ex("thanks a lot", false),
            ex("you are kind", false),
        ];
        let a = LinearModel::train(&data, Training::default());
        let b = LinearModel::train(&data, Training::default());
        let probe = Features::extract("what a stupid idea");
        assert!(a.score(&probe) > 0.5, "{}", a.score(&probe));
        assert!(a.score(&Features::extract("thank you")) < 0.5);
        assert_eq!(a.score(&probe), b.score(&probe), "deterministic");
    }

    #[test]
    fn metrics_count() {
        let mut m = Metrics::default();
        m.add(true, true);
        m.add(true, false);
        m.add(false, true);
        m.add(false, false);
        assert_eq!((m.precision(), m.recall(), m.total()), (0.5, 0.5, 4));
    }
}
