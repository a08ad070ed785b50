//! The bus's view of the system's queues, declared in one place ([`kefu_proto::queues`]).

use kefu_bus::QueueSpec;

/// The bus's view of one of the system's queues.
pub fn spec(q: kefu_proto::queues::Queue) -> QueueSpec {
    QueueSpec::new(q.name, q.bindings.iter().copied()).with_delivery_limit(q.delivery_limit)
}

/// Every queue of the system: a service declares them all before it publishes anything.
pub fn all() -> Vec<QueueSpec> {
    kefu_proto::queues::ALL.iter().copied().map(spec).collect()
}
