//! A RabbitMQ node of the chaos harness's own: its own node name, ports, data and log
//! directories, started from the machine's RabbitMQ installation, killed with SIGKILL and
//! restarted on the same ports and data — never the machine's shared broker.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// Where Debian's package keeps the server script (the `/usr/sbin` wrapper switches to the
/// `rabbitmq` user, which cannot write our temporary directory).
const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

pub struct OwnBroker {
    dir: tempfile::TempDir,
    node: String,
    pub port: u16,
    dist_port: u16,
    child: Option<Child>,
}

/// A port nobody listens on right now (the OS picks it; it is free again once we drop it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl OwnBroker {
    /// Starts a fresh node and waits until it accepts AMQP connections.
    pub async fn start(id: &str) -> OwnBroker {
        assert!(
            Path::new(SERVER).exists(),
            "the chaos harness starts a RabbitMQ node of its own and needs the RabbitMQ server \
             installed ({SERVER} is missing): install Debian's rabbitmq-server package"
        );
        let dir = tempfile::Builder::new()
            .prefix("kefu-chaos-broker-")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        let dist_port = free_port();
        std::fs::write(dir.path().join("enabled_plugins"), "[].\n").expect("plugins file");
        std::fs::write(dir.path().join("env.conf"), "").expect("env file");
        std::fs::write(
            dir.path().join("rabbitmq.conf"),
            format!("loopback_users = none\nlisteners.tcp.local = 127.0.0.1:{port}\n"),
        )
        .expect("config file");
        let mut broker = OwnBroker {
            dir,
            node: format!("kefu-chaos-{id}@localhost"),
            port,
            dist_port,
            child: None,
        };
        broker.boot().await;
        broker
    }

    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn boot(&mut self) {
        let d = self.dir.path();
        let mut cmd = Command::new(SERVER);
        cmd.env("HOME", d)
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", self.path("mnesia"))
            .env("RABBITMQ_LOG_BASE", self.path("log"))
            .env("RABBITMQ_CONFIG_FILE", self.path("rabbitmq"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                self.path("enabled_plugins"),
            )
            .env("RABBITMQ_CONF_ENV_FILE", self.path("env.conf"))
            .env("RABBITMQ_PID_FILE", self.path("pid"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(self.path("stdout.log")).expect("log"))
            .stderr(Stdio::null())
            // Its own process group, so a kill takes the script and the Erlang VM together.
            .process_group(0)
            .kill_on_drop(true);
        self.child = Some(cmd.spawn().expect("starting the chaos RabbitMQ node"));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the chaos RabbitMQ node did not listen within 90 s; its output:\n{}",
                std::fs::read_to_string(self.path("stdout.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL to the whole node (no clean shutdown, as in a crash), then waits for it to die.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
            }
            let _ = child.wait().await;
        }
        // The VM may outlive the script by a moment; the port is free once it is gone.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_ok()
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the node again on the same ports and data (durable queues and persisted messages
    /// come back).
    pub async fn restart(&mut self) {
        self.kill().await;
        self.boot().await;
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_ref()
            && let Some(pid) = child.id()
        {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}
