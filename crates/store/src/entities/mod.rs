//! The tables every service has in its own schema. A service's other tables are its own
//! entities (`services/*/src/store/entities`); no service reads another's.

pub mod outbox;
pub mod processed_event;
