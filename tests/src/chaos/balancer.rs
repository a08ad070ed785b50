//! A TCP load balancer, as a Kubernetes Service is in front of replicas: each connection goes
//! to the next backend that accepts it. Replicas the harness kills and replaces are swapped in
//! with [`Balancer::set_backends`]; connections to a killed one break and the client reconnects.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

pub struct Balancer {
    pub addr: SocketAddr,
    backends: Arc<RwLock<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Balancer {
    pub async fn start(backends: Vec<String>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let backends = Arc::new(RwLock::new(backends));
        let next = Arc::new(AtomicUsize::new(0));
        let task = {
            let backends = backends.clone();
            tokio::spawn(async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    let (backends, next) = (backends.clone(), next.clone());
                    tokio::spawn(async move {
                        let _ = inbound.set_nodelay(true);
                        if let Some(mut outbound) = connect(&backends, &next).await {
                            let mut inbound = inbound;
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
            })
        };
        Balancer {
            addr,
            backends,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_backends(&self, backends: Vec<String>) {
        *self.backends.write().expect("lock") = backends;
    }
}

/// The next backend (round robin) that accepts a connection, trying each once.
async fn connect(backends: &RwLock<Vec<String>>, next: &AtomicUsize) -> Option<TcpStream> {
    let list = backends.read().expect("lock").clone();
    let start = next.fetch_add(1, Ordering::Relaxed);
    for i in 0..list.len() {
        let addr = &list[(start + i) % list.len()];
        if let Ok(Ok(s)) =
            tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await
        {
            let _ = s.set_nodelay(true);
            return Some(s);
        }
    }
    None
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
