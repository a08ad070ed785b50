//! End-to-end tests: Kefu's real binaries, started as processes, against real PostgreSQL and
//! RabbitMQ (distributed mode) or on their own (`kefu dev`), driven through the public API the
//! way a channel drives it. The same scenarios run against both modes.

mod analytics;
mod channels;
mod chaos;
mod customer;
mod desk;
mod dev;
mod distributed;
mod events;
mod monitoring;
mod platform;
mod qa;
mod replicas;
mod scale_out;
mod scenario;
mod tickets;
