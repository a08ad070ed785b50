//! Throwaway TLS servers for tests: a CA with server and client certificates (the `openssl`
//! command, which Debian's ca-certificates depends on) and a PostgreSQL instance (the installed
//! PostgreSQL's `initdb`/`pg_ctl`) on its own port and data directory in a temporary directory,
//! stopped when dropped; the RabbitMQ node with TLS is the chaos harness's
//! ([`OwnBroker::start_tls`](crate::chaos::broker::OwnBroker::start_tls)). The machine's
//! shared PostgreSQL and RabbitMQ are never touched.

use crate::chaos::broker::free_port;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `program args…`, panicking with its output when it fails.
fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA, a server certificate for `localhost` and a client certificate whose common name
/// is `postgres` (the user PostgreSQL's `cert` authentication maps it to). PEM files in `dir`.
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    pub fn generate(dir: &Path) -> Self {
        let p = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let days = "2";
        self_signed_ca(dir, "ca", "/CN=Kefu test CA");
        // Extensions make version 3 certificates, the only version webpki accepts.
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
        for (name, subject) in [("server", "/CN=localhost"), ("client", "/CN=postgres")] {
            let (key, csr) = (p(&format!("{name}.key")), p(&format!("{name}.csr")));
            run(
                "openssl",
                &[
                    "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
                    subject,
                ],
            );
            let (pem, ext) = (p(&format!("{name}.pem")), p(&format!("{name}.ext")));
            run(
                "openssl",
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &p("ca.pem"),
                    "-CAkey",
                    &p("ca.key"),
                    "-CAcreateserial",
                    "-out",
                    &pem,
                    "-days",
                    days,
                    "-extfile",
                    &ext,
                ],
            );
        }
        Self {
            dir: dir.to_owned(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A second, unrelated CA (a certificate it did not sign must be refused).
    pub fn other_ca(dir: &Path) -> PathBuf {
        self_signed_ca(dir, "other-ca", "/CN=Another CA")
    }
}

/// A CA certificate `{name}.pem` (key `{name}.key`) in `dir`; returns the certificate's path.
fn self_signed_ca(dir: &Path, name: &str, subject: &str) -> PathBuf {
    let (key, pem) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pem")),
    );
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key.to_string_lossy(),
            "-out",
            &pem.to_string_lossy(),
            "-days",
            "2",
            "-subj",
            subject,
        ],
    );
    pem
}

/// Whether this process runs as root (PostgreSQL refuses to; its tools then run as `postgres`).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The installed PostgreSQL's binaries directory (`pg_config --bindir`, else Debian's layout).
fn pg_bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed (/usr/lib/postgresql is missing)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("no initdb under /usr/lib/postgresql")
}

/// Runs a PostgreSQL tool as the user that owns the data directory.
fn pg_tool(tool: &str, args: &[&str]) {
    let bin = pg_bindir().join(tool).to_string_lossy().into_owned();
    if is_root() {
        let mut all = vec!["-u", "postgres", "--", bin.as_str()];
        all.extend(args);
        run("runuser", &all);
    } else {
        run(&bin, args);
    }
}

/// A PostgreSQL instance of its own with `ssl = on`: plain TCP refused (`hostssl` only), the
/// database `certdb` for client-certificate authentication, the others trusted over TLS.
pub struct TlsPostgres {
    pub port: u16,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsPostgres {
    pub fn start(certs: &Certs) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let socket = dir.path().to_string_lossy().into_owned();
        // The server's certificate and key in its own directory (the certificates' directory is
        // private to this process), the key readable by the server only.
        let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
        let ca = dir.path().join("ca.pem");
        std::fs::copy(certs.path("server.pem"), &cert).unwrap();
        std::fs::copy(certs.path("ca.pem"), &ca).unwrap();
        std::fs::copy(certs.path("server.key"), &key).unwrap();
        if is_root() {
            run("chown", &["-R", "postgres", &socket]);
        }
        run("chmod", &["0600", &key.to_string_lossy()]);
        pg_tool(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl certdb all 127.0.0.1/32 cert\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        if is_root() {
            run(
                "chown",
                &["postgres", &data.join("pg_hba.conf").to_string_lossy()],
            );
        }
        let port = free_port();
        let options = format!(
            "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={socket} \
             -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c ssl_ca_file={} -c fsync=off",
            cert.display(),
            key.display(),
            ca.display(),
        );
        pg_tool(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-l",
                &dir.path().join("log").to_string_lossy(),
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        );
        let pg = Self {
            port,
            data,
            _dir: dir,
        };
        let psql = pg_bindir().join("psql").to_string_lossy().into_owned();
        run(
            &psql,
            &[
                "-h",
                &socket,
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-c",
                "CREATE DATABASE certdb",
            ],
        );
        pg
    }

    /// `postgres://postgres@{host}:{port}/{db}`.
    pub fn url(&self, host: &str, db: &str) -> String {
        format!("postgres://postgres@{host}:{}/{db}", self.port)
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let bin = pg_bindir().join("pg_ctl").to_string_lossy().into_owned();
        let data = self.data.to_string_lossy().into_owned();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--", &bin])
                .args(args)
                .output()
        } else {
            Command::new(&bin).args(args).output()
        };
    }
}
