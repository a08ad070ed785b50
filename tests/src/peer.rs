//! The providers' side, done by independent implementations: wechatpy for WeChat's and WeCom's
//! message crypto, the twilio library for `X-Twilio-Signature` (`tests/peers/peer.py`, in the
//! venv `scripts/peers.sh` installs). A test encrypts and signs with these what it sends Kefu,
//! and decrypts what Kefu answers, so no channel is only ever checked against Kefu's own code.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

/// The repository root of the checkout being tested.
pub fn repo_root() -> PathBuf {
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    PathBuf::from(dir).join("..")
}

struct Io {
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

/// One running `peer.py`; commands are answered in order.
pub struct Peer {
    io: Mutex<Io>,
    _child: Child,
}

impl Peer {
    /// Installs the venv if needed (`scripts/peers.sh`) and starts the peer. Panics with what
    /// is missing when it cannot: the tests need it, they never skip.
    pub async fn start() -> Peer {
        let root = repo_root();
        let out = Command::new("bash")
            .arg(root.join("scripts/peers.sh"))
            .stderr(Stdio::inherit())
            .output()
            .await
            .expect("running scripts/peers.sh");
        assert!(
            out.status.success(),
            "scripts/peers.sh could not install wechatpy and twilio (PyPI must be reachable once)"
        );
        let python = String::from_utf8(out.stdout).expect("a path");
        let mut child = Command::new(python.trim())
            .arg(root.join("tests/peers/peer.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("starting tests/peers/peer.py");
        let io = Io {
            stdin: child.stdin.take().expect("stdin"),
            stdout: BufReader::new(child.stdout.take().expect("stdout")).lines(),
        };
        Peer {
            io: Mutex::new(io),
            _child: child,
        }
    }

    /// Runs one command (`{"command": …, …}`); panics on the peer's error.
    pub async fn call(&self, command: Value) -> Value {
        let answer = self.try_call(command.clone()).await;
        if let Some(e) = answer.get("error") {
            panic!(
                "peer {command}: {e}\n{}",
                answer["trace"].as_str().unwrap_or("")
            );
        }
        answer
    }

    /// Runs one command; the peer's refusal comes back as `{"error": …}`.
    pub async fn try_call(&self, command: Value) -> Value {
        let mut io = self.io.lock().await;
        let mut line = command.to_string();
        line.push('\n');
        io.stdin
            .write_all(line.as_bytes())
            .await
            .expect("peer stdin");
        io.stdin.flush().await.expect("peer stdin");
        let answer = io
            .stdout
            .next_line()
            .await
            .expect("peer stdout")
            .expect("the peer answered");
        serde_json::from_str(&answer).expect("the peer answers JSON")
    }

    /// WeChat's plain-mode `signature` over token, timestamp and nonce.
    pub async fn wechat_signature(&self, token: &str, timestamp: &str, nonce: &str) -> String {
        let a = self
            .call(json!({"command": "wechat_sign", "token": token, "timestamp": timestamp, "nonce": nonce}))
            .await;
        a["signature"].as_str().unwrap().to_owned()
    }

    /// `X-Twilio-Signature` of a form POST to `url`.
    pub async fn twilio_signature(
        &self,
        auth_token: &str,
        url: &str,
        params: &[(&str, &str)],
    ) -> String {
        let params: serde_json::Map<String, Value> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let a = self
            .call(json!({"command": "twilio_sign", "auth_token": auth_token, "url": url, "params": params}))
            .await;
        a["signature"].as_str().unwrap().to_owned()
    }
}
