//! What a handoff carries to a person: the transcript, the customer profile and orders (the
//! desk makes its routing entry, `desk::intake`).

use super::*;

/// The customer's identities: those the session knows plus those this message claims.
pub(super) fn identities_of(w: &Work) -> Vec<Identity> {
    let mut out: Vec<Identity> = w
        .context
        .as_ref()
        .map(|c| {
            c.identities
                .iter()
                .map(|i| Identity {
                    kind: i.kind.clone(),
                    value: i.value.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    for i in &w.message.identities {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}

pub(super) fn profile_of(w: &Work) -> CustomerProfile {
    let hints = w.message.profile.clone().unwrap_or_default();
    let (id, name, tier, region, language, tags) = match w.context.as_ref() {
        Some(c) => (
            c.customer.id.to_string(),
            c.customer.display_name.clone(),
            c.customer.tier.clone(),
            c.customer.region.clone(),
            c.customer.language.clone(),
            customers::tags_of(&c.customer),
        ),
        None => Default::default(),
    };
    let or = |a: String, b: String| if a.is_empty() { b } else { a };
    CustomerProfile {
        customer_id: id,
        display_name: or(name, hints.display_name),
        tier: or(tier, hints.tier),
        tags,
        region: or(region, hints.region),
        language: or(language, hints.language),
        identities: identities_of(w),
        recent_orders: Vec::new(),
    }
}

pub(super) async fn recent_orders(state: &SessionState, w: &Work) -> Vec<OrderSummary> {
    let keys = crate::order_keys(&identities_of(w));
    if keys.is_empty() || !state.orders.is_configured() {
        return Vec::new();
    }
    match state.orders.recent_orders(&keys, 5).await {
        Ok(orders) => orders.iter().map(crate::order_summary).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "recent orders unavailable for the handoff");
            Vec::new()
        }
    }
}

/// Everything a person needs to take over: the transcript so far, the intents the bot saw,
/// why it handed off, who the customer is and where they are.
pub(super) async fn handoff_of(
    txn: &impl kefu_store::sea_orm::ConnectionTrait,
    tenant: &str,
    conversation_id: Uuid,
    customer_id: Uuid,
    w: &Work,
    reason: &str,
) -> Result<HandoffRequested, StoreError> {
    let transcript = crate::store::list_messages(txn, tenant, conversation_id, 50, false)
        .await?
        .into_iter()
        .map(|m| TranscriptLine {
            sender_kind: m.sender_kind.as_str().to_owned(),
            text: m.text,
            at: Some(kefu_proto::time::to_timestamp(m.created_at)),
        })
        .collect();
    let mut profile = profile_of(w);
    if let Some(c) = customers::get_customer(txn, tenant, customer_id).await? {
        profile.customer_id = c.id.to_string();
        let or = |a: String, b: &str| if a.is_empty() { b.to_owned() } else { a };
        profile.display_name = or(c.display_name.clone(), &profile.display_name);
        profile.tier = or(c.tier.clone(), &profile.tier);
        profile.region = or(c.region.clone(), &profile.region);
        profile.language = or(c.language.clone(), &profile.language);
        profile.tags = customers::tags_of(&c);
    }
    profile.recent_orders = w.orders.clone();
    let answer = w.answer.as_ref();
    Ok(HandoffRequested {
        conversation_id: conversation_id.to_string(),
        customer_id: customer_id.to_string(),
        channel_id: w.message.channel_id.clone(),
        reason: reason.to_owned(),
        intents: answer.map(|a| a.intents.clone()).unwrap_or_default(),
        transcript,
        profile: Some(profile),
        page: w.message.page.clone(),
        merchant_id: w.message.merchant_id.clone(),
        requested_at: Some(kefu_proto::time::to_timestamp(Utc::now())),
        language: answer.map(|a| a.language.clone()).unwrap_or_default(),
    })
}
