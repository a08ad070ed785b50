//! The QA service's contract suite: every body below runs against a fresh SQLite file and a
//! fresh PostgreSQL schema ([`kefu_store::testing`]), so both backends inspect, score, review
//! and scope alike. PostgreSQL comes from `DATABASE_URL`; when it is not reachable the
//! `postgres::*` tests fail (they never skip) saying how to fix it.

#[path = "repository/inspection.rs"]
mod inspection;
#[path = "repository/support.rs"]
mod support;

kefu_store::contract_suite! {
    inspection::migrations_create_only_qa_tables,
    inspection::a_rude_reply_alerts_once_and_the_close_scores,
    inspection::review_appeal_and_settlement,
    inspection::a_policy_change_applies_and_rescores,
    inspection::a_customer_left_waiting_alerts_once,
}
