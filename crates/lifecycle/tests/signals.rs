//! The first SIGTERM cancels the token instead of killing the process.
#![cfg(unix)]

use std::time::Duration;

#[tokio::test]
async fn first_sigterm_cancels_the_token() {
    let token = kefu_lifecycle::shutdown_on_signals();
    assert!(!token.is_cancelled());
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(5), token.cancelled())
        .await
        .expect("token cancelled by SIGTERM");
}
