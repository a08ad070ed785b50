//! Translating termination signals into a [`CancellationToken`].

use tokio_util::sync::CancellationToken;

/// Exit code used when a second termination signal forces the process down.
pub const EXIT_CODE_FORCED: i32 = 130;

/// Returns a token cancelled by the first SIGTERM or SIGINT (graceful shutdown). A second signal
/// exits the process immediately with code [`EXIT_CODE_FORCED`].
///
/// Must be called inside a Tokio runtime. If signal handlers cannot be installed, the error is
/// logged and the token is only cancelled by the caller.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    // Install the handlers before returning so no signal can slip through unhandled.
    let mut signals = match Signals::new() {
        Ok(signals) => signals,
        Err(err) => {
            tracing::error!(error = %err, "cannot install signal handlers");
            return token;
        }
    };
    let child = token.clone();
    tokio::spawn(async move {
        let first = signals.recv().await;
        tracing::info!(
            signal = first,
            "shutdown requested; draining (send again to force exit)"
        );
        child.cancel();
        let second = signals.recv().await;
        tracing::warn!(
            signal = second,
            code = EXIT_CODE_FORCED,
            "second signal; exiting immediately"
        );
        eprintln!("received {second} again, exiting immediately");
        std::process::exit(EXIT_CODE_FORCED);
    });
    token
}

#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn recv(&mut self) -> &'static str {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        "Ctrl-C"
    }
}
