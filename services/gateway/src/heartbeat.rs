//! The WebSocket heartbeat both sockets use (the customer's chat and the agent's desk): a ping
//! every interval, and the socket closed when nothing was heard for three intervals.

use axum::extract::ws::Message as WsMessage;
use futures::{Sink, SinkExt};
use std::time::{Duration, Instant};
use tokio::time::Interval;

/// A close frame with its code and reason.
pub fn close(code: u16, reason: &'static str) -> WsMessage {
    WsMessage::Close(Some(axum::extract::ws::CloseFrame {
        code,
        reason: reason.into(),
    }))
}

pub struct Heartbeat {
    every: Duration,
    last_heard: Instant,
    ticks: Interval,
}

impl Heartbeat {
    /// Starts the clock; the first ping goes out one interval from now.
    pub async fn start(every: Duration) -> Self {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        Self {
            every,
            last_heard: Instant::now(),
            ticks,
        }
    }

    /// The peer said something (any frame counts).
    pub fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    /// Resolves at the next interval.
    pub async fn tick(&mut self) {
        self.ticks.tick().await;
    }

    /// At a tick: pings, or closes a silent peer. `false` when the socket is done.
    pub async fn beat<S>(&self, sink: &mut S) -> bool
    where
        S: Sink<WsMessage> + Unpin,
    {
        if self.last_heard.elapsed() > self.every * 3 {
            let _ = sink.send(WsMessage::Close(None)).await;
            return false;
        }
        sink.send(WsMessage::Ping(Vec::new().into())).await.is_ok()
    }
}
