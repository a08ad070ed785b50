//! Desired state of a dedicated tenant, as pure functions of the Tenant and the platform
//! settings: the Deployments and Services of its gateway, session, bot, ticketing, analytics and QA, the Secret they read
//! their URLs from, and the autoscaler of each queue-consuming Deployment (a KEDA `ScaledObject`
//! on RabbitMQ queue depth, or an `autoscaling/v2` HPA on CPU where KEDA is not installed).
//! The controller applies them with server-side apply; these functions never talk to anything.

use crate::settings::Settings;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kefu_crd::Tenant;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

/// One of the services a dedicated tenant runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Component {
    pub name: &'static str,
    pub http_port: u16,
    pub grpc_port: u16,
    /// The RabbitMQ queue it consumes (what its autoscaler watches), if any.
    pub queue: Option<&'static str>,
}

pub const COMPONENTS: [Component; 6] = [
    Component {
        name: "gateway",
        http_port: 8080,
        grpc_port: 50051,
        queue: Some("kefu.gateway.outbound"),
    },
    Component {
        name: "session",
        http_port: 8081,
        grpc_port: 50052,
        queue: Some("kefu.session.inbound"),
    },
    Component {
        name: "bot",
        http_port: 8082,
        grpc_port: 50053,
        queue: None,
    },
    Component {
        name: "ticketing",
        http_port: 8083,
        grpc_port: 50054,
        queue: Some("kefu.ticketing.events"),
    },
    Component {
        name: "analytics",
        http_port: 8085,
        grpc_port: 50056,
        queue: Some("kefu.analytics.events"),
    },
    Component {
        name: "qa",
        http_port: 8084,
        grpc_port: 50055,
        queue: Some("kefu.qa.events"),
    },
];

pub const MANAGED_BY: &str = "kefu-operator";

pub fn object_name(tenant: &str, component: &str) -> String {
    format!("kefu-{tenant}-{component}")
}

/// The tenant's Secret holding its broker URL (its own vhost), database URL and admin token.
pub fn secret_name(tenant: &str) -> String {
    format!("kefu-{tenant}-platform")
}

/// The RabbitMQ vhost of a dedicated tenant.
pub fn vhost(tenant: &str) -> String {
    format!("kefu-{tenant}")
}

/// PostgreSQL schemas allow `[a-z0-9_]`; tenant names also have `-`.
pub fn schema(tenant: &str, component: &str) -> String {
    format!("t_{}_{component}", tenant.replace('-', "_"))
}

/// Where a dedicated tenant's configuration goes: its own gateway.
pub fn admin_url(template: &str, tenant: &str, namespace: &str) -> String {
    template
        .replace("{tenant}", tenant)
        .replace("{namespace}", namespace)
}

fn labels(tenant: &str, component: &str) -> Value {
    json!({
        "app.kubernetes.io/name": "kefu",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/instance": object_name(tenant, component),
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "kefu.dev/tenant": tenant,
    })
}

fn owner(tenant: &Tenant) -> OwnerReference {
    tenant
        .controller_owner_ref(&())
        .expect("a Tenant from the API server has a name and uid")
}

fn meta(tenant: &Tenant, name: String, component: &str) -> Value {
    json!({
        "name": name,
        "namespace": tenant.namespace(),
        "labels": labels(&tenant.name_any(), component),
        "ownerReferences": [owner(tenant)],
    })
}

/// The base AMQP URL with the tenant's vhost as its path.
pub fn amqp_url_with_vhost(base: &str, vhost: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("amqp", base));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{vhost}")
}

pub fn secret(tenant: &Tenant, settings: &Settings) -> Secret {
    let name = tenant.name_any();
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(tenant, secret_name(&name), "platform"),
        "type": "Opaque",
        "stringData": {
            "amqp-url": amqp_url_with_vhost(&settings.amqp_url, &vhost(&name)),
            "database-url": settings.database_url,
            "admin-token": settings.admin_token,
            "agent-token-secret": settings.agent_token_secret,
        },
    }))
    .expect("static shape")
}

fn secret_env(env: &str, tenant: &str, key: &str) -> Value {
    json!({"name": env, "valueFrom": {"secretKeyRef": {"name": secret_name(tenant), "key": key}}})
}

pub fn deployment(tenant: &Tenant, c: Component, settings: &Settings) -> Deployment {
    let name = tenant.name_any();
    let ns = tenant.namespace().unwrap_or_default();
    let mut env = vec![
        json!({"name": "KEFU_HTTP_ADDR", "value": format!("0.0.0.0:{}", c.http_port)}),
        json!({"name": "KEFU_GRPC_ADDR", "value": format!("0.0.0.0:{}", c.grpc_port)}),
        json!({"name": "KEFU_LOG_JSON", "value": "1"}),
    ];
    if c.name != "bot" {
        env.push(secret_env("DATABASE_URL", &name, "database-url"));
        env.push(json!({"name": "KEFU_DATABASE_SCHEMA", "value": schema(&name, c.name)}));
        env.push(secret_env("AMQP_URL", &name, "amqp-url"));
    }
    let grpc_url = |component: &str, port: u16| {
        format!("http://{}.{ns}.svc:{port}", object_name(&name, component))
    };
    if c.name == "gateway" {
        env.push(secret_env("KEFU_ADMIN_TOKEN", &name, "admin-token"));
        env.push(secret_env(
            "KEFU_AGENT_TOKEN_SECRET",
            &name,
            "agent-token-secret",
        ));
        env.push(json!({"name": "KEFU_SESSION_URL", "value": grpc_url("session", 50052)}));
        env.push(json!({"name": "KEFU_TICKETING_URL", "value": grpc_url("ticketing", 50054)}));
    }
    if c.name == "ticketing" {
        env.push(json!({"name": "KEFU_SESSION_URL", "value": grpc_url("session", 50052)}));
    }
    if c.name == "gateway" {
        env.push(json!({"name": "KEFU_ANALYTICS_URL", "value": grpc_url("analytics", 50056)}));
        env.push(json!({"name": "KEFU_QA_URL", "value": grpc_url("qa", 50055)}));
    }
    if c.name == "session" {
        env.push(json!({"name": "KEFU_BOT_URL", "value": format!("http://{}.{ns}.svc:50053", object_name(&name, "bot"))}));
    }
    let mut volumes = vec![json!({"name": "tmp", "emptyDir": {}})];
    let mut mounts = vec![json!({"name": "tmp", "mountPath": "/tmp"})];
    if c.name == "bot"
        && let Some(kb) = &tenant.spec.knowledge_base
    {
        let r = &kb.config_map_ref;
        volumes.push(json!({"name": "kb", "configMap": {"name": r.name}}));
        mounts.push(json!({"name": "kb", "mountPath": "/etc/kefu/kb", "readOnly": true}));
        env.push(json!({
            "name": format!("KEFU_KB__{}", name.to_uppercase().replace('-', "_")),
            "value": format!("/etc/kefu/kb/{}", r.key),
        }));
    }
    let selector = json!({
        "app.kubernetes.io/instance": object_name(&name, c.name),
    });
    let mut spec = json!({
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": labels(&name, c.name)},
            "spec": {
                "automountServiceAccountToken": false,
                "securityContext": {
                    "runAsNonRoot": true,
                    "runAsUser": 65532,
                    "runAsGroup": 65532,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [{
                    "name": c.name,
                    "image": settings.image,
                    "args": [c.name],
                    "env": env,
                    "ports": [
                        {"name": "http", "containerPort": c.http_port},
                        {"name": "grpc", "containerPort": c.grpc_port},
                    ],
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
                    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5},
                    "resources": settings.resources,
                    "securityContext": {
                        "allowPrivilegeEscalation": false,
                        "readOnlyRootFilesystem": true,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "volumeMounts": mounts,
                }],
                "volumes": volumes,
            },
        },
    });
    // Replicas of autoscaled Deployments belong to the autoscaler: leaving the field out of the
    // applied configuration keeps server-side apply from fighting it.
    if c.queue.is_none() {
        spec["replicas"] = json!(tenant.spec.scaling.min_replicas);
    }
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(tenant, object_name(&name, c.name), c.name),
        "spec": spec,
    }))
    .expect("static shape")
}

pub fn service(tenant: &Tenant, c: Component) -> Service {
    let name = tenant.name_any();
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(tenant, object_name(&name, c.name), c.name),
        "spec": {
            "selector": {"app.kubernetes.io/instance": object_name(&name, c.name)},
            "ports": [
                {"name": "http", "port": c.http_port, "targetPort": "http"},
                {"name": "grpc", "port": c.grpc_port, "targetPort": "grpc"},
            ],
        },
    }))
    .expect("static shape")
}

pub fn scaled_object_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("keda.sh", "v1alpha1", "ScaledObject"),
        "scaledobjects",
    )
}

pub fn trigger_auth_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("keda.sh", "v1alpha1", "TriggerAuthentication"),
        "triggerauthentications",
    )
}

pub fn dynamic(resource: &ApiResource, value: Value) -> DynamicObject {
    let mut obj: DynamicObject = serde_json::from_value(value).expect("static shape");
    obj.types = Some(kube::api::TypeMeta {
        api_version: resource.api_version.clone(),
        kind: resource.kind.clone(),
    });
    obj
}

/// KEDA reads the broker URL (with the tenant's vhost) from the tenant Secret.
pub fn trigger_authentication(tenant: &Tenant) -> DynamicObject {
    let name = tenant.name_any();
    dynamic(
        &trigger_auth_resource(),
        json!({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "TriggerAuthentication",
            "metadata": meta(tenant, object_name(&name, "rabbitmq"), "autoscaling"),
            "spec": {"secretTargetRef": [{"parameter": "host", "name": secret_name(&name), "key": "amqp-url"}]},
        }),
    )
}

/// A ScaledObject on `queue`'s depth for the Deployment `target`.
#[allow(clippy::too_many_arguments)]
pub fn scaled_object_for(
    metadata: Value,
    target: &str,
    queue: &str,
    min: u32,
    max: u32,
    queue_length: u32,
    auth: &str,
) -> DynamicObject {
    dynamic(
        &scaled_object_resource(),
        json!({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": metadata,
            "spec": {
                "scaleTargetRef": {"name": target},
                "minReplicaCount": min,
                "maxReplicaCount": max.max(min),
                "pollingInterval": 15,
                "cooldownPeriod": 300,
                "triggers": [{
                    "type": "rabbitmq",
                    "metadata": {
                        "protocol": "amqp",
                        "queueName": queue,
                        "mode": "QueueLength",
                        "value": queue_length.to_string(),
                    },
                    "authenticationRef": {"name": auth},
                }],
            },
        }),
    )
}

/// An `autoscaling/v2` HPA on CPU for the Deployment `target`.
pub fn hpa_for(metadata: Value, target: &str, min: u32, max: u32) -> HorizontalPodAutoscaler {
    serde_json::from_value(json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": min,
            "maxReplicas": max.max(min),
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
        },
    }))
    .expect("static shape")
}

/// Scales `c` on the depth of its queue between `min_replicas` (raised during peak events)
/// and the tenant's `maxReplicas`.
pub fn scaled_object(tenant: &Tenant, c: Component, min_replicas: u32) -> Option<DynamicObject> {
    let queue = c.queue?;
    let name = tenant.name_any();
    let s = &tenant.spec.scaling;
    Some(scaled_object_for(
        meta(tenant, object_name(&name, c.name), c.name),
        &object_name(&name, c.name),
        queue,
        min_replicas,
        s.max_replicas,
        s.queue_length_per_replica,
        &object_name(&name, "rabbitmq"),
    ))
}

/// Without KEDA: an HPA on CPU (queue depth would need an external-metrics adapter), with the
/// same replica bounds and peak-event floor.
pub fn hpa(tenant: &Tenant, c: Component, min_replicas: u32) -> Option<HorizontalPodAutoscaler> {
    c.queue?;
    let name = tenant.name_any();
    Some(hpa_for(
        meta(tenant, object_name(&name, c.name), c.name),
        &object_name(&name, c.name),
        min_replicas,
        tenant.spec.scaling.max_replicas,
    ))
}

/// The finalizer-free check of whether an object is ours (for tests and debugging).
pub fn owned_by(obj_owners: &[OwnerReference], tenant: &Tenant) -> bool {
    let uid = tenant.meta().uid.as_deref();
    obj_owners
        .iter()
        .any(|o| Some(o.uid.as_str()) == uid && o.controller == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{dedicated_tenant, settings};

    #[test]
    fn every_object_matches_the_snapshot_make_chart_lint_validates() {
        // Everything the operator applies for a dedicated tenant, with KEDA and without, in
        // operator/tests/desired-objects.json, which scripts/chart_lint.py validates against the
        // Kubernetes 1.34 and KEDA schemas. KEFU_UPDATE_SNAPSHOTS=1 rewrites it.
        let (t, s) = (dedicated_tenant(), settings());
        fn json(v: &impl serde::Serialize) -> Value {
            serde_json::to_value(v).expect("serializes")
        }
        let mut objects = vec![json(&secret(&t, &s)), json(&trigger_authentication(&t))];
        for c in COMPONENTS {
            objects.push(json(&deployment(&t, c, &s)));
            objects.push(json(&service(&t, c)));
            if let Some(so) = scaled_object(&t, c, 3) {
                objects.push(json(&so));
            }
            if let Some(hpa) = hpa(&t, c, 3) {
                objects.push(json(&hpa));
            }
        }
        let text = serde_json::to_string_pretty(&objects).unwrap() + "\n";
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/desired-objects.json");
        if std::env::var_os("KEFU_UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let snapshot = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            snapshot == text,
            "{} differs from what the operator applies: run KEFU_UPDATE_SNAPSHOTS=1 cargo test -p \
             kefu-operator every_object_matches, then make chart-lint",
            path.display()
        );
    }

    #[test]
    fn deployments_are_hardened_probed_and_owned() {
        let t = dedicated_tenant();
        for c in COMPONENTS {
            let d = deployment(&t, c, &settings());
            assert_eq!(
                d.metadata.name.as_deref(),
                Some(format!("kefu-acme-{}", c.name).as_str())
            );
            assert!(owned_by(
                d.metadata.owner_references.as_deref().unwrap(),
                &t
            ));
            let pod = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
            assert_eq!(
                pod.security_context.as_ref().unwrap().run_as_non_root,
                Some(true)
            );
            let container = &pod.containers[0];
            let sc = container.security_context.as_ref().unwrap();
            assert_eq!(sc.read_only_root_filesystem, Some(true));
            assert_eq!(sc.allow_privilege_escalation, Some(false));
            assert_eq!(
                sc.capabilities.as_ref().unwrap().drop.as_deref(),
                Some(&["ALL".to_owned()][..])
            );
            assert!(container.liveness_probe.is_some() && container.readiness_probe.is_some());
            assert_eq!(container.args.as_deref(), Some(&[c.name.to_owned()][..]));
            // Autoscaled Deployments leave replicas to the autoscaler.
            assert_eq!(
                d.spec.as_ref().unwrap().replicas.is_none(),
                c.queue.is_some()
            );
            let env = container.env.as_ref().unwrap();
            let secret_keys: Vec<_> = env
                .iter()
                .filter_map(|e| e.value_from.as_ref()?.secret_key_ref.as_ref())
                .map(|r| r.key.as_str())
                .collect();
            if c.name != "bot" {
                assert!(secret_keys.contains(&"amqp-url") && secret_keys.contains(&"database-url"));
            }
            // The gateway signs agents in: its token key comes from the tenant's Secret.
            assert_eq!(
                secret_keys.contains(&"agent-token-secret"),
                c.name == "gateway"
            );
        }
    }

    #[test]
    fn bot_mounts_the_knowledge_base_config_map() {
        let d = deployment(&dedicated_tenant(), COMPONENTS[2], &settings());
        let pod = d.spec.unwrap().template.spec.unwrap();
        assert_eq!(
            pod.volumes.unwrap()[1].config_map.as_ref().unwrap().name,
            "acme-kb"
        );
        let env = pod.containers[0].env.clone().unwrap();
        let kb = env.iter().find(|e| e.name == "KEFU_KB__ACME").unwrap();
        assert_eq!(kb.value.as_deref(), Some("/etc/kefu/kb/faq.jsonl"));
    }

    #[test]
    fn the_tenant_secret_points_at_its_own_vhost() {
        assert_eq!(
            amqp_url_with_vhost("amqp://kefu:pw@rabbitmq:5672/%2f", "kefu-acme"),
            "amqp://kefu:pw@rabbitmq:5672/kefu-acme"
        );
        let s = secret(&dedicated_tenant(), &settings());
        let data = s.string_data.unwrap();
        assert_eq!(data["amqp-url"], "amqp://kefu:pw@rabbitmq:5672/kefu-acme");
        assert_eq!(data["agent-token-secret"], settings().agent_token_secret);
        assert_eq!(schema("big-shop", "session"), "t_big_shop_session");
    }

    #[test]
    fn scaled_objects_watch_queue_depth_within_bounds() {
        let t = dedicated_tenant();
        assert!(
            scaled_object(&t, COMPONENTS[2], 2).is_none(),
            "the bot consumes no queue"
        );
        let so = scaled_object(&t, COMPONENTS[1], 20).unwrap();
        assert_eq!(so.types.as_ref().unwrap().kind, "ScaledObject");
        let spec = &so.data["spec"];
        assert_eq!(spec["minReplicaCount"], 20);
        assert_eq!(spec["maxReplicaCount"], 30);
        assert_eq!(
            spec["triggers"][0]["metadata"]["queueName"],
            "kefu.session.inbound"
        );
        assert_eq!(spec["triggers"][0]["metadata"]["value"], "100");
        let hpa = hpa(&t, COMPONENTS[0], 40).unwrap().spec.unwrap();
        assert_eq!(
            (hpa.min_replicas, hpa.max_replicas),
            (Some(40), 40),
            "max follows a higher floor"
        );
    }
}
