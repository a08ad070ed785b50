//! Supervision: queue figures.

use super::*;

#[derive(Serialize, ToSchema)]
pub struct QueueStats {
    pub name: String,
    pub merchant_id: String,
    pub skills: Vec<String>,
    pub waiting: u32,
    pub left_messages: u32,
    pub longest_wait_seconds: u32,
    pub agents_online: u32,
    pub free_slots: u32,
    /// Served within the SLA's seconds, over conversations offered in the last hour, in percent.
    pub service_level_percent: f64,
    pub sla_target_percent: u32,
    pub sla_within_seconds: u32,
    pub active: u32,
}

impl From<&pb::QueueStats> for QueueStats {
    fn from(q: &pb::QueueStats) -> Self {
        Self {
            name: q.name.clone(),
            merchant_id: q.merchant_id.clone(),
            skills: q.skills.clone(),
            waiting: q.waiting,
            left_messages: q.left_messages,
            longest_wait_seconds: q.longest_wait_seconds,
            agents_online: q.agents_online,
            free_slots: q.free_slots,
            service_level_percent: q.service_level_percent,
            sla_target_percent: q.sla_target_percent,
            sla_within_seconds: q.sla_within_seconds,
            active: q.active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct QueueList {
    pub queues: Vec<QueueStats>,
}
