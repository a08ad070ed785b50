//! Kefu's binaries as child processes: started with an environment, awaited until they announce
//! their addresses on stdout, stopped with SIGTERM (then killed) when dropped. Their stderr goes
//! to a log file that is printed if the test fails while they run.

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The path of a workspace binary next to the running test executable
/// (`target/<profile>/<name>`).
pub fn bin_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` first (`make test` does)",
        path.display()
    );
    path
}

pub struct Service {
    pub name: String,
    /// Addresses announced by the process: "http", "grpc", ….
    pub addrs: HashMap<String, String>,
    child: Option<Child>,
    log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Service {
    /// Starts `bin args…` with `envs` and waits (up to 60 s) for its ready line.
    pub async fn start(bin: &str, args: &[&str], envs: &[(&str, String)]) -> Service {
        let logdir = tempfile::tempdir().expect("tempdir");
        let log = logdir.path().join(format!("{bin}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(bin_path(bin));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["kefu"] == "ready"
                {
                    return Some(v);
                }
            }
            None
        })
        .await;
        let announce = match ready {
            Ok(Some(v)) => v,
            _ => {
                let _ = child.start_kill();
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("{bin} did not start; its log:\n{text}");
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let addrs = announce
            .as_object()
            .expect("object")
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect();
        Service {
            name: bin.to_owned(),
            addrs,
            child: Some(child),
            log,
            _logdir: logdir,
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub fn addr(&self, name: &str) -> &str {
        self.addrs
            .get(name)
            .unwrap_or_else(|| panic!("{} announced no {name} address", self.name))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the process dies at once, as in a node failure (nothing is drained).
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGTERM, then waits for a graceful exit (killing after `grace`); returns the exit code.
    pub async fn stop(&mut self, grace: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        match tokio::time::timeout(grace, child.wait()).await {
            Ok(Ok(status)) => status.code(),
            _ => {
                let _ = child.kill().await;
                None
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        if std::thread::panicking() {
            eprintln!("---- log of {} ----\n{}", self.name, self.log());
        }
    }
}
