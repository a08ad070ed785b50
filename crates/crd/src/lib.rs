//! Kefu's tenant configuration as Kubernetes custom resources (`kefu.dev/v1alpha1`): the one
//! schema for tenants, channels, queues, routing policies and QA policies, whether the operator reconciles
//! them in a cluster or `kefu apply` sends them to a running `kefu dev`.
//!
//! - [`tenant`], [`channel`], [`queue`], [`routing`], [`qa`]: the kinds (kube's
//!   `CustomResource` derive, schemars schemas with CEL rules); [`common`]: references and the
//!   status block.
//! - [`validate`]: the checks a schema cannot express, each error with its field path.
//! - [`document`]: multi-document YAML → typed resources, errors with document and path.
//! - [`crdgen`]: the CRD YAML written to `crds/` by `make crds` (and checked for drift).
//! - [`admin`] (feature `client`): the gateway admin API client both `kefu apply` and the
//!   operator use to push configuration to running services.

#[cfg(feature = "client")]
pub mod admin;
pub mod channel;
pub mod common;
pub mod crdgen;
pub mod document;
pub mod qa;
pub mod queue;
pub mod routing;
pub mod tenant;
pub mod validate;

pub use channel::{Channel, ChannelSpec, ChannelType};
pub use common::{CommonStatus, ConfigMapKeyRef, SecretKeyRef};
pub use document::{DocumentError, KefuResource};
pub use qa::{QaPolicy, QaPolicySpec};
pub use queue::{Queue, QueueSpec};
pub use routing::{RoutingPolicy, RoutingPolicySpec};
pub use tenant::{
    AnalyticsRules, AttributionRule, BusinessCalendar, Isolation, OverflowMode, PeakEvent,
    SlaPolicy, Tenant, TenantSpec, TenantStatus, TicketCategory, TicketPriority, TicketSubStatus,
    TicketingRules,
};
pub use validate::{FieldError, Validate};
