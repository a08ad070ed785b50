//! Coalesced acknowledgements for one channel.
//!
//! Acking every delivery with its own `basic.ack` costs a frame, a wake-up of lapin's I/O
//! thread and, in a quorum queue, a Raft command each. Consumers that settle many deliveries
//! at once (a batch) are better served by one `basic.ack(multiple = true)` for the highest tag
//! below which everything is settled. The rules that keep that safe:
//! - a tag that is still being processed (or is being nacked) is *outstanding*, and a multiple
//!   ack never reaches past the lowest outstanding tag;
//! - a nack is sent while its tag is still outstanding, so no multiple ack can cover it first;
//! - flushes are serialised, so the broker sees multiple acks in increasing tag order and never
//!   an ack for a tag an earlier frame already covered.
//!
//! An ack returns once recorded; its frame follows within the same scheduler turn. If the
//! channel dies before that, the broker requeues the delivery (at-least-once).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use lapin::Channel;
use lapin::options::{BasicAckOptions, BasicNackOptions};

#[derive(Default)]
struct Tags {
    /// Delivered and not settled yet.
    outstanding: BTreeSet<u64>,
    /// Acked by the consumer, frame not sent yet.
    acked: BTreeSet<u64>,
    flush_scheduled: bool,
}

pub(crate) struct AckCoalescer {
    channel: Channel,
    tags: Mutex<Tags>,
    /// Held while computing and sending one multiple ack.
    send: tokio::sync::Mutex<()>,
}

impl AckCoalescer {
    pub(crate) fn new(channel: Channel) -> Arc<Self> {
        Arc::new(Self {
            channel,
            tags: Mutex::default(),
            send: tokio::sync::Mutex::new(()),
        })
    }

    pub(crate) fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Registers a delivery before anyone can settle it.
    pub(crate) fn delivered(&self, tag: u64) {
        self.tags.lock().expect("ack lock").outstanding.insert(tag);
    }

    /// Records an ack; the frame is sent by a flush right after.
    pub(crate) fn ack(self: &Arc<Self>, tag: u64) {
        let schedule = {
            let mut tags = self.tags.lock().expect("ack lock");
            tags.outstanding.remove(&tag);
            tags.acked.insert(tag);
            !std::mem::replace(&mut tags.flush_scheduled, true)
        };
        if schedule {
            self.schedule_flush();
        }
    }

    /// Sends a nack for one tag (never coalesced), then lets pending acks past it go out.
    pub(crate) async fn nack(self: &Arc<Self>, tag: u64, requeue: bool) -> lapin::Result<bool> {
        let options = BasicNackOptions {
            requeue,
            multiple: false,
        };
        let result = self.channel.basic_nack(tag, options).await;
        if result.is_err() && self.channel.status().connected() {
            // The tag stays outstanding so no multiple ack covers it: the broker keeps the
            // message unsettled and redelivers it with the channel.
            return result.map(|()| true);
        }
        let schedule = {
            let mut tags = self.tags.lock().expect("ack lock");
            tags.outstanding.remove(&tag);
            !tags.acked.is_empty() && !std::mem::replace(&mut tags.flush_scheduled, true)
        };
        if schedule {
            self.schedule_flush();
        }
        result.map(|()| true)
    }

    fn schedule_flush(self: &Arc<Self>) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            // Let the other settlements of this turn (a batch) join the same frame.
            tokio::task::yield_now().await;
            me.flush().await;
        });
    }

    async fn flush(&self) {
        let _sending = self.send.lock().await;
        let upto = {
            let mut tags = self.tags.lock().expect("ack lock");
            tags.flush_scheduled = false;
            let covered: Vec<u64> = match tags.outstanding.first().copied() {
                Some(lowest) => tags.acked.range(..lowest).copied().collect(),
                None => tags.acked.iter().copied().collect(),
            };
            for tag in &covered {
                tags.acked.remove(tag);
            }
            covered.last().copied()
        };
        let Some(tag) = upto else { return };
        let options = BasicAckOptions { multiple: true };
        if let Err(error) = self.channel.basic_ack(tag, options).await {
            // The channel is gone: the broker requeues what it had not seen acked.
            tracing::debug!(%error, tag, "coalesced ack not sent");
        }
    }
}
