//! Broker object names, queue specifications and AMQP topic matching.

/// Names of everything on the broker, derived from a prefix so tests can
/// isolate themselves (production uses `"kefu"`).
#[derive(Clone, Debug)]
pub struct Topology {
    /// Prefix of every exchange and queue name.
    pub prefix: String,
}

impl Topology {
    /// A topology whose names all start with `prefix`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// `{prefix}.events`: the durable topic exchange every event is published to.
    pub fn exchange(&self) -> String {
        format!("{}.events", self.prefix)
    }

    /// `{prefix}.dlx`: the durable direct exchange queues dead-letter into.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.prefix)
    }

    /// `{prefix}.{name}`: the (quorum) queue of a logical queue name.
    pub fn queue(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    /// `{prefix}.{name}.dlq`: the dead-letter queue of a logical queue name,
    /// bound to the dead-letter exchange with the queue's full name as key.
    pub fn dead_letter_queue(&self, name: &str) -> String {
        format!("{}.{name}.dlq", self.prefix)
    }
}

/// What a subscriber wants: a queue, what it is bound to, and its limits.
#[derive(Clone, Debug)]
pub struct QueueSpec {
    /// Logical name, e.g. `session.inbound`.
    pub name: String,
    /// Topic patterns on the events exchange (`*` = one word, `#` = zero or more).
    pub bindings: Vec<String>,
    /// Maximum unacknowledged deliveries per subscription.
    pub prefetch: u16,
    /// After this many deliveries a message is dead-lettered instead of redelivered.
    pub delivery_limit: u32,
    /// A queue of one process alone, for fan-out to every replica: it lives while its
    /// subscriber's connection does (RabbitMQ: exclusive, auto-delete, not durable, no
    /// dead-lettering), and what is published while no such process runs is not kept.
    pub transient: bool,
}

impl QueueSpec {
    /// A spec with prefetch 16 and delivery limit 5.
    pub fn new<I, S>(name: impl Into<String>, bindings: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            name: name.into(),
            bindings: bindings.into_iter().map(Into::into).collect(),
            prefetch: 16,
            delivery_limit: 5,
            transient: false,
        }
    }

    /// Makes it a [transient](QueueSpec::transient) queue.
    #[must_use]
    pub fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// Sets the prefetch.
    #[must_use]
    pub fn with_prefetch(mut self, prefetch: u16) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// Sets the delivery limit.
    #[must_use]
    pub fn with_delivery_limit(mut self, delivery_limit: u32) -> Self {
        self.delivery_limit = delivery_limit;
        self
    }

    /// Prefetch as actually applied (at least 1).
    pub(crate) fn effective_prefetch(&self) -> u16 {
        self.prefetch.max(1)
    }

    /// Delivery limit as actually applied (at least 1).
    pub(crate) fn effective_delivery_limit(&self) -> u32 {
        self.delivery_limit.max(1)
    }
}

/// AMQP topic-exchange matching: words are separated by `.`, `*` matches
/// exactly one word and `#` matches zero or more words.
pub fn topic_matches(pattern: &str, routing_key: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = routing_key.split('.').collect();
    matches_words(&pattern, &key)
}

fn matches_words(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((&"#", rest)) => (0..=key.len()).any(|skip| matches_words(rest, &key[skip..])),
        Some((word, rest)) => match key.split_first() {
            Some((first, key_rest)) => {
                (*word == "*" || word == first) && matches_words(rest, key_rest)
            }
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_prefix() {
        let topology = Topology::new("kefu");
        assert_eq!(topology.exchange(), "kefu.events");
        assert_eq!(topology.dead_letter_exchange(), "kefu.dlx");
        assert_eq!(topology.queue("session.inbound"), "kefu.session.inbound");
        assert_eq!(
            topology.dead_letter_queue("session.inbound"),
            "kefu.session.inbound.dlq"
        );
    }

    #[test]
    fn exact_and_star_patterns() {
        assert!(topic_matches("message.received", "message.received"));
        assert!(!topic_matches("message.received", "message.sent"));
        assert!(topic_matches("message.*", "message.sent"));
        assert!(!topic_matches("message.*", "message"));
        assert!(!topic_matches("message.*", "message.sent.twice"));
        assert!(topic_matches("*.closed", "session.closed"));
        assert!(!topic_matches("*", "a.b"));
    }

    #[test]
    fn hash_patterns() {
        assert!(topic_matches("#", "anything.at.all"));
        assert!(topic_matches("#", "x"));
        assert!(topic_matches("session.#", "session"));
        assert!(topic_matches("session.#", "session.closed.by.agent"));
        assert!(!topic_matches("session.#", "sessions.closed"));
        assert!(topic_matches("#.closed", "session.closed"));
        assert!(topic_matches("#.closed", "closed"));
        assert!(topic_matches("a.#.z", "a.z"));
        assert!(topic_matches("a.#.z", "a.b.c.z"));
        assert!(!topic_matches("a.#.z", "a.b.c"));
        assert!(topic_matches("#.*", "a"));
        assert!(!topic_matches("*.#.*", "a"));
    }
}
