//! The Kefu operator: Tenant, Channel, Queue and RoutingPolicy resources (kefu-crd) become
//! configuration in the running platform and, for dedicated tenants, their own Deployments,
//! Services, RabbitMQ vhost and autoscalers — raised ahead of scheduled peaks.
//!
//! - [`tenant`], [`config`]: the reconcilers (finalizers, status conditions, events).
//! - [`desired`]: the objects a dedicated tenant needs, as pure functions; [`peak`]: the
//!   peak-event schedule; [`rabbitmq`]: vhosts through the management API.
//! - [`platform`]: the platform's Deployments scaled for shared tenants' peak events.
//! - [`context`], [`status`], [`metrics`], [`leader`], [`settings`], [`run`]: the plumbing.
//! - [`sim`]: the Double 11 scaling simulation (`kefu-operator simulate`).

pub mod config;
pub mod context;
pub mod desired;
pub mod leader;
pub mod metrics;
pub mod peak;
pub mod platform;
pub mod rabbitmq;
pub mod run;
pub mod settings;
pub mod sim;
pub mod status;
pub mod tenant;

#[cfg(test)]
pub mod testing;
#[cfg(test)]
mod tests;
