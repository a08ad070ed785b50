//! `kefu validate -f FILE` and `kefu apply -f FILE`: the operator's YAML (Tenant, Channel, Queue,
//! RoutingPolicy) outside Kubernetes. Both read with the kefu-crd types and validation, so a
//! file that validates here is what the cluster accepts; `apply` sends it to a running gateway
//! (`kefu dev`) through the admin API, exactly as the operator does.

use anyhow::Context;
use kefu_crd::document::{self, DocumentError};
use kefu_crd::{KefuResource, SecretKeyRef};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ValidateArgs {
    /// YAML files (one or more `---`-separated documents each); `-` reads stdin.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct ApplyArgs {
    /// YAML files to apply, in order; `-` reads stdin.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
    /// The gateway's HTTP address.
    #[arg(long, env = "KEFU_ADMIN_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Admin API bearer token (`kefu dev` uses dev-admin-token).
    #[arg(long, env = "KEFU_ADMIN_TOKEN", default_value = crate::dev::DEMO_ADMIN_TOKEN)]
    token: String,
    /// Where Secret references resolve to files `<dir>/<name>/<key>` (the layout of a mounted
    /// Secret); default `secrets/` beside the YAML file.
    #[arg(long)]
    secrets_dir: Option<PathBuf>,
}

fn read(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        return std::io::read_to_string(std::io::stdin()).context("reading stdin");
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Each file with its resources.
type Loaded = Vec<(PathBuf, Vec<KefuResource>)>;

/// Every file's resources, or every error of every file, one line each with its field path.
fn load(files: &[PathBuf]) -> anyhow::Result<Result<Loaded, Vec<String>>> {
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match document::parse(&read(file)?) {
            Ok(resources) => loaded.push((file.clone(), resources)),
            Err(errors) => problems.extend(
                errors
                    .iter()
                    .map(|e: &DocumentError| format!("{}: {e}", file.display())),
            ),
        }
    }
    Ok(if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(problems)
    })
}

fn summary(resources: &[KefuResource]) -> String {
    resources
        .iter()
        .map(|r| format!("{}/{}", r.kind(), r.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn validate(args: ValidateArgs) -> anyhow::Result<()> {
    match load(&args.files)? {
        Ok(loaded) => {
            for (file, resources) in loaded {
                println!("{}: valid ({})", file.display(), summary(&resources));
            }
            Ok(())
        }
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            anyhow::bail!(
                "{} error(s); nothing is valid until all are fixed",
                problems.len()
            )
        }
    }
}

/// `KEFU_SECRET_<NAME>__<KEY>`: upper case, every other character `_`.
pub fn secret_env_var(r: &SecretKeyRef) -> String {
    let norm = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!("KEFU_SECRET_{}__{}", norm(&r.name), norm(&r.key))
}

/// A Secret reference outside Kubernetes: the environment variable, else the file
/// `<dir>/<name>/<key>`, else `None` (an existing channel keeps its stored secret).
pub fn resolve_secret(r: &SecretKeyRef, dir: &Path) -> anyhow::Result<Option<String>> {
    if let Ok(value) = std::env::var(secret_env_var(r)) {
        return Ok(Some(value));
    }
    let path = dir.join(&r.name).join(&r.key);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim_end_matches(['\r', '\n']).to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading secret file {}", path.display())),
    }
}

/// Tenants first: everything else names one.
fn order(kind: &str) -> u8 {
    match kind {
        "Tenant" => 0,
        "Channel" => 1,
        "Queue" => 2,
        _ => 3,
    }
}

pub async fn apply_files(args: &ApplyArgs) -> anyhow::Result<Vec<String>> {
    let loaded = match load(&args.files)? {
        Ok(loaded) => loaded,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            anyhow::bail!("{} error(s); nothing was applied", problems.len());
        }
    };
    let client = kefu_crd::admin::AdminClient::new(&args.server, &args.token);
    let mut applied = Vec::new();
    for (file, mut resources) in loaded {
        resources.sort_by_key(|r| order(r.kind()));
        let secrets_dir = args
            .secrets_dir
            .clone()
            .unwrap_or_else(|| file.parent().unwrap_or(Path::new(".")).join("secrets"));
        for resource in &resources {
            let label = format!("{}/{}", resource.kind(), resource.name());
            let mut secrets = kefu_crd::admin::ChannelSecrets::new();
            if let KefuResource::Channel(c) = resource {
                for (name, _, r) in c.spec.credentials.refs() {
                    if let Some(value) = resolve_secret(r, &secrets_dir)? {
                        secrets.insert(name, value);
                    }
                }
            }
            client
                .apply(resource, &secrets)
                .await
                .with_context(|| format!("{}: applying {label}", file.display()))?;
            applied.push(label);
        }
    }
    Ok(applied)
}

pub fn apply(args: ApplyArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for label in runtime.block_on(apply_files(&args))? {
        println!("{label} configured");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> PathBuf {
        PathBuf::from(
            std::env::var("CARGO_MANIFEST_DIR")
                .expect("cargo sets CARGO_MANIFEST_DIR when it runs tests"),
        )
        .join("../demo/demo-tenant.yaml")
    }

    #[test]
    fn secret_refs_name_an_environment_variable() {
        let r = SecretKeyRef {
            name: "demo-api-secret".into(),
            key: "secret".into(),
        };
        assert_eq!(secret_env_var(&r), "KEFU_SECRET_DEMO_API_SECRET__SECRET");
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resolve_secret(&r, dir.path()).unwrap(), None);
        std::fs::create_dir_all(dir.path().join("demo-api-secret")).unwrap();
        std::fs::write(
            dir.path().join("demo-api-secret/secret"),
            "from-a-file-0123456\n",
        )
        .unwrap();
        assert_eq!(
            resolve_secret(&r, dir.path()).unwrap().as_deref(),
            Some("from-a-file-0123456")
        );
    }

    #[test]
    fn validate_accepts_the_demo_and_rejects_bad_files() {
        assert!(
            validate(ValidateArgs {
                files: vec![demo()]
            })
            .is_ok()
        );
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(
            &bad,
            "apiVersion: kefu.dev/v1alpha1\nkind: Channel\nmetadata: {name: c}\nspec: {tenant: t, type: fax, credentials: {secretRef: {name: s, key: k}}, webhook: {url: 'https://x.example'}}\n",
        )
        .unwrap();
        let Err(problems) = load(std::slice::from_ref(&bad)).unwrap() else {
            panic!("accepted")
        };
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("(Channel/c): spec.type: unknown variant `fax`"),
            "{}",
            problems[0]
        );
        assert!(validate(ValidateArgs { files: vec![bad] }).is_err());
    }

    /// The demo file against a real gateway (SQLite, in-process bus) on a loopback port.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn apply_sends_the_demo_to_a_running_gateway() {
        let dir = tempfile::tempdir().unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let kefu_gateway::testing::LoopbackGateway {
            url: server_url,
            db,
            server,
        } = kefu_gateway::testing::on_loopback(dir.path(), "t0ken", stop.clone()).await;

        let secrets = dir.path().join("secrets");
        let args = |files: Vec<PathBuf>| ApplyArgs {
            files,
            server: server_url.clone(),
            token: "t0ken".into(),
            secrets_dir: Some(secrets.clone()),
        };
        // A new channel needs its secret: without one the gateway refuses, naming the cause.
        let err = apply_files(&args(vec![demo()])).await.unwrap_err();
        assert!(format!("{err:#}").contains("secret is required"), "{err:#}");

        std::fs::create_dir_all(secrets.join("demo-api-secret")).unwrap();
        std::fs::write(
            secrets.join("demo-api-secret/secret"),
            "demo-secret-change-me",
        )
        .unwrap();
        std::fs::create_dir_all(secrets.join("demo-web-secret")).unwrap();
        std::fs::write(
            secrets.join("demo-web-secret/secret"),
            "demo-web-secret-change-me",
        )
        .unwrap();
        let applied = apply_files(&args(vec![demo()])).await.unwrap();
        assert_eq!(
            applied,
            [
                "Tenant/demo",
                "Channel/demo-api",
                "Channel/demo-web",
                "Queue/platform",
                "Queue/jinyuan",
                "RoutingPolicy/default",
                "QaPolicy/default"
            ]
        );
        let channel = kefu_gateway::store::get_channel(&db, "demo-api")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(channel.secret, "demo-secret-change-me");
        let client = kefu_crd::admin::AdminClient::new(server_url.clone(), "t0ken");
        let tenant = client.get_config("demo", "tenant", "demo").await.unwrap();
        assert_eq!(tenant.spec["peakEvents"][0]["name"], "double-11");
        let qa = client
            .get_config("demo", "qapolicy", "default")
            .await
            .unwrap();
        assert_eq!(qa.spec["rules"][0]["id"], "forbidden-words");
        let queue = client.get_config("demo", "queue", "jinyuan").await.unwrap();
        assert_eq!(
            (queue.version, queue.spec["overflow"]["queue"].as_str()),
            (1, Some("platform"))
        );
        // Applying again changes nothing.
        apply_files(&args(vec![demo()])).await.unwrap();
        assert_eq!(
            client
                .get_config("demo", "queue", "jinyuan")
                .await
                .unwrap()
                .version,
            1
        );
        // Withdrawing a document (as the operator's finalizer does) is idempotent.
        client
            .delete_config("demo", "queue", "jinyuan")
            .await
            .unwrap();
        client
            .delete_config("demo", "queue", "jinyuan")
            .await
            .unwrap();
        let gone = client
            .get_config("demo", "queue", "jinyuan")
            .await
            .unwrap_err();
        assert!(
            matches!(
                gone,
                kefu_crd::admin::AdminError::Rejected { status: 404, .. }
            ),
            "{gone}"
        );
        // A spec the types reject is refused with its field path.
        let bad = serde_json::json!({"tenant": "demo", "strategy": "coin-toss"});
        let err = client
            .put_config("demo", "routingpolicy", "x", &bad)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, kefu_crd::admin::AdminError::Rejected { status: 422, field: Some(f), .. } if f == "spec.strategy"),
            "{err}"
        );
        // A bad token is refused with the gateway's reason.
        let mut bad = args(vec![demo()]);
        bad.token = "wrong".into();
        let err = apply_files(&bad).await.unwrap_err();
        assert!(format!("{err:#}").contains("401 unauthorized"), "{err:#}");

        stop.cancel();
        let _ = server.await;
    }
}
