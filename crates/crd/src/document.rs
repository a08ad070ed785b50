//! Reading Kefu YAML (one or many `---`-separated documents of the four kinds) into the typed
//! resources, with every error tied to its document and field path. YAML is first read into a
//! JSON value and then into the types with `serde_path_to_error`, so a wrong type, an unknown
//! field or an unknown enum value reports where it is (`spec.peakEvents[0].trafficMultiplier`),
//! not just what it is.

use crate::validate::{FieldError, Validate};
use crate::{Channel, QaPolicy, Queue, RoutingPolicy, Tenant};
use kube::Resource as _;
use std::collections::{HashMap, HashSet};
use std::fmt;

pub const API_VERSION: &str = "kefu.dev/v1alpha1";
pub const KINDS: &[&str] = &["Tenant", "Channel", "Queue", "RoutingPolicy", "QaPolicy"];

/// The config kinds stored as documents, as they appear in the admin API's URLs and in
/// `tenant.config_changed`.
pub mod kind {
    pub const TENANT: &str = "tenant";
    pub const QUEUE: &str = "queue";
    pub const ROUTING_POLICY: &str = "routingpolicy";
    pub const QA_POLICY: &str = "qapolicy";
    pub const ALL: &[&str] = &[TENANT, QUEUE, ROUTING_POLICY, QA_POLICY];
    /// The documents routing reads (the session's copy).
    pub const ROUTING: &[&str] = &[TENANT, QUEUE, ROUTING_POLICY];
}

/// One resource of any of the four kinds. (Not boxed: a few are read per `kefu apply` or
/// reconcile, and the variants are matched by value everywhere.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum KefuResource {
    Tenant(Tenant),
    Channel(Channel),
    Queue(Queue),
    RoutingPolicy(RoutingPolicy),
    QaPolicy(QaPolicy),
}

impl KefuResource {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Tenant(_) => "Tenant",
            Self::Channel(_) => "Channel",
            Self::Queue(_) => "Queue",
            Self::RoutingPolicy(_) => "RoutingPolicy",
            Self::QaPolicy(_) => "QaPolicy",
        }
    }

    /// The config document a Tenant, Queue or RoutingPolicy is stored as: its kind (see
    /// [`kind`]) and its spec as JSON. A Channel is not a config document.
    pub fn config_document(&self) -> Option<(&'static str, serde_json::Value)> {
        let (k, spec) = match self {
            Self::Tenant(r) => (kind::TENANT, serde_json::to_value(&r.spec)),
            Self::Queue(r) => (kind::QUEUE, serde_json::to_value(&r.spec)),
            Self::RoutingPolicy(r) => (kind::ROUTING_POLICY, serde_json::to_value(&r.spec)),
            Self::QaPolicy(r) => (kind::QA_POLICY, serde_json::to_value(&r.spec)),
            Self::Channel(_) => return None,
        };
        // The specs are plain data: serialising them cannot fail.
        spec.ok().map(|s| (k, s))
    }

    pub fn name(&self) -> &str {
        let meta = match self {
            Self::Tenant(r) => r.meta(),
            Self::Channel(r) => r.meta(),
            Self::Queue(r) => r.meta(),
            Self::RoutingPolicy(r) => r.meta(),
            Self::QaPolicy(r) => r.meta(),
        };
        meta.name.as_deref().unwrap_or("")
    }

    /// The tenant the resource belongs to (a Tenant belongs to itself).
    pub fn tenant(&self) -> &str {
        match self {
            Self::Tenant(_) => self.name(),
            Self::Channel(r) => &r.spec.tenant,
            Self::Queue(r) => &r.spec.tenant,
            Self::RoutingPolicy(r) => &r.spec.tenant,
            Self::QaPolicy(r) => &r.spec.tenant,
        }
    }

    /// Name and spec checks of this resource alone.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !crate::common::is_id(self.name()) {
            errors.push(FieldError {
                path: "metadata.name".into(),
                message: "must be 1-64 characters of a-z, 0-9, '-' or '_'".into(),
            });
        }
        let spec = match self {
            Self::Tenant(r) => r.spec.validate(),
            Self::Channel(r) => r.spec.validate(),
            Self::Queue(r) => r.spec.validate(),
            Self::RoutingPolicy(r) => r.spec.validate(),
            Self::QaPolicy(r) => r.spec.validate(),
        };
        errors.extend(spec.err().unwrap_or_default());
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// An error in one document of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentError {
    /// 1-based position of the document in the file.
    pub document: usize,
    /// `Kind/name` when known.
    pub resource: Option<String>,
    pub error: FieldError,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.resource {
            Some(r) => write!(f, "document {} ({r}): {}", self.document, self.error),
            None => write!(f, "document {}: {}", self.document, self.error),
        }
    }
}

/// A stored config document as the gateway's admin API answers it (and `kefu apply` and the
/// operator read it).
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, PartialEq)]
pub struct ConfigView {
    pub tenant_id: String,
    pub kind: String,
    pub name: String,
    pub spec: serde_json::Value,
    pub version: i64,
}

fn doc_error(
    document: usize,
    resource: Option<String>,
    path: &str,
    message: String,
) -> DocumentError {
    DocumentError {
        document,
        resource,
        error: FieldError {
            path: path.to_owned(),
            message,
        },
    }
}

/// serde names an unknown or missing field in its message but reports the path of the object
/// holding it; the path of the field itself is more useful.
pub fn field_path(path: &str, message: &str) -> String {
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some(end) = rest.find('`')
        {
            let field = &rest[..end];
            return if path.is_empty() || path == "." {
                field.to_owned()
            } else if path == field || path.ends_with(&format!(".{field}")) {
                // serde_path_to_error already followed the unknown key.
                path.to_owned()
            } else {
                format!("{path}.{field}")
            };
        }
    }
    if path == "." {
        String::new()
    } else {
        path.to_owned()
    }
}

fn typed<T: serde::de::DeserializeOwned>(
    document: usize,
    resource: &str,
    value: serde_json::Value,
) -> Result<T, DocumentError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        doc_error(
            document,
            Some(resource.to_owned()),
            &field_path(&path, &message),
            message,
        )
    })
}

/// Reads every document of `text`: the resources, or every error found (the file's syntax,
/// then each document's schema and validation, then references between documents).
pub fn parse(text: &str) -> Result<Vec<KefuResource>, Vec<DocumentError>> {
    let values: Vec<serde_json::Value> = serde_saphyr::from_multiple(text)
        .map_err(|e| vec![doc_error(1, None, "", format!("not valid YAML: {e}"))])?;
    let mut resources = Vec::new();
    let mut errors = Vec::new();
    let mut positions = Vec::new();
    for (i, value) in values.into_iter().enumerate() {
        let document = i + 1;
        if value.is_null() {
            continue; // an empty document, e.g. after a trailing `---`
        }
        match parse_one(document, value) {
            Ok(r) => {
                if let Err(es) = r.validate() {
                    let label = format!("{}/{}", r.kind(), r.name());
                    errors.extend(es.into_iter().map(|error| DocumentError {
                        document,
                        resource: Some(label.clone()),
                        error,
                    }));
                }
                positions.push(document);
                resources.push(r);
            }
            Err(e) => errors.push(e),
        }
    }
    errors.extend(check_references(&resources, &positions));
    if errors.is_empty() {
        Ok(resources)
    } else {
        Err(errors)
    }
}

fn parse_one(document: usize, value: serde_json::Value) -> Result<KefuResource, DocumentError> {
    let Some(object) = value.as_object() else {
        return Err(doc_error(document, None, "", "must be a mapping".into()));
    };
    let api_version = object.get("apiVersion").and_then(|v| v.as_str());
    if api_version != Some(API_VERSION) {
        return Err(doc_error(
            document,
            None,
            "apiVersion",
            format!("must be {API_VERSION}, got {api_version:?}"),
        ));
    }
    let kind = object.get("kind").and_then(|v| v.as_str()).unwrap_or("");
    let name = object
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("");
    let label = format!("{kind}/{name}");
    Ok(match kind {
        "Tenant" => KefuResource::Tenant(typed(document, &label, value)?),
        "Channel" => KefuResource::Channel(typed(document, &label, value)?),
        "Queue" => KefuResource::Queue(typed(document, &label, value)?),
        "RoutingPolicy" => KefuResource::RoutingPolicy(typed(document, &label, value)?),
        "QaPolicy" => KefuResource::QaPolicy(typed(document, &label, value)?),
        other => {
            return Err(doc_error(
                document,
                None,
                "kind",
                format!(
                    "unknown kind {other:?}; expected one of {}",
                    KINDS.join(", ")
                ),
            ));
        }
    })
}

/// References between the documents of one file: a resource naming a tenant the file does not
/// define (when it defines any), a queue naming a merchant its tenant lacks, an overflow target
/// that is not a queue of the file, and duplicate names.
pub fn check_references(resources: &[KefuResource], positions: &[usize]) -> Vec<DocumentError> {
    let mut errors = Vec::new();
    let tenants: HashMap<&str, &Tenant> = resources
        .iter()
        .filter_map(|r| match r {
            KefuResource::Tenant(t) => Some((r.name(), t)),
            _ => None,
        })
        .collect();
    let queues: HashSet<(&str, &str)> = resources
        .iter()
        .filter(|r| matches!(r, KefuResource::Queue(_)))
        .map(|r| (r.tenant(), r.name()))
        .collect();
    let mut seen = HashSet::new();
    let mut qa_policies = HashSet::new();
    for (r, &document) in resources.iter().zip(positions) {
        let label = Some(format!("{}/{}", r.kind(), r.name()));
        if !seen.insert((r.kind(), r.name())) {
            errors.push(doc_error(
                document,
                label.clone(),
                "metadata.name",
                format!("a {} named {:?} appears twice", r.kind(), r.name()),
            ));
        }
        if matches!(r, KefuResource::QaPolicy(_)) && !qa_policies.insert(r.tenant()) {
            errors.push(doc_error(
                document,
                label.clone(),
                "spec.tenant",
                format!(
                    "tenant {:?} already has a QaPolicy in this file (one per tenant)",
                    r.tenant()
                ),
            ));
        }
        if matches!(r, KefuResource::Tenant(_)) || tenants.is_empty() {
            continue;
        }
        let Some(tenant) = tenants.get(r.tenant()) else {
            errors.push(doc_error(
                document,
                label,
                "spec.tenant",
                format!("tenant {:?} is not defined in this file", r.tenant()),
            ));
            continue;
        };
        if let KefuResource::Queue(q) = r {
            if let Some(m) = &q.spec.merchant
                && !tenant.spec.merchants.iter().any(|x| &x.id == m)
            {
                errors.push(doc_error(
                    document,
                    label.clone(),
                    "spec.merchant",
                    format!("tenant {:?} has no merchant {m:?}", r.tenant()),
                ));
            }
            if let Some(o) = &q.spec.overflow
                && !queues.contains(&(r.tenant(), o.queue.as_str()))
            {
                errors.push(doc_error(
                    document,
                    label,
                    "spec.overflow.queue",
                    format!(
                        "no Queue {:?} of tenant {:?} in this file",
                        o.queue,
                        r.tenant()
                    ),
                ));
            }
        }
    }
    errors
}
