//! QA end to end: the tenant's policy through the desk API, a rude agent reply alerting the
//! supervisor's desk socket, the closed conversation's score and violations, a policy change
//! applied without a restart and re-scored on request, an appeal settled, and another tenant's
//! results answering 404.

use crate::desk::{Desk, Rules, Staff};
use crate::platform::Platform;
use kefu_tests::desk::{DeskClient, ReplyContent};
use kefu_tests::eventually;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);
/// How soon a real-time violation must reach the supervisor's socket (the promise).
const ALERT_WITHIN: Duration = Duration::from_secs(1);

const RUDE: &str = "爱买不买，不关我的事";

/// The demo policy (demo/qa-policy.yaml) as the tenant's QaPolicy spec.
fn policy(tenant: &str, extra_phrase: Option<&str>) -> Value {
    let text = include_str!("../../../demo/qa-policy.yaml");
    let spec = kefu_crd::qa::parse_policy(text).expect("the demo policy reads");
    let mut v = serde_json::to_value(&spec).unwrap();
    v["tenant"] = tenant.into();
    v["review"] = json!({"critical": true, "reviewers": ["qa-rev"], "appeal_days": 7});
    if let Some(p) = extra_phrase {
        v["rules"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "banned-word", "kind": "forbidden_phrase", "severity": "major", "phrases": [p]}));
    }
    v
}

fn staff(id: &'static str, role: &'static str) -> Staff {
    Staff {
        id,
        role,
        merchant: "",
        skills: &["general"],
        capacity: 3,
    }
}

/// Puts the policy and waits until QA inspects with its version.
async fn put_policy(
    d: &Desk,
    policy: Value,
    probe: &DeskClient,
    conversation: Option<&str>,
) -> i64 {
    let r = d
        .admin
        .call(reqwest::Method::PUT, "/qa/policy", Some(policy))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let version = r.body["version"].as_i64().expect("version");
    if let Some(c) = conversation {
        eventually("QA has the new policy", WAIT, || async {
            let r = probe
                .call(
                    reqwest::Method::GET,
                    &format!("/qa/conversations/{c}"),
                    None,
                )
                .await;
            (r.body["current_policy_version"] == version).then_some(())
        })
        .await;
    }
    version
}

async fn result(who: &DeskClient, conversation: &str) -> kefu_tests::client::Reply {
    who.call(
        reqwest::Method::GET,
        &format!("/qa/conversations/{conversation}"),
        None,
    )
    .await
}

pub async fn qa_alerts_scores_rescores_and_scopes(p: &Platform) {
    let d = Desk::new(p, Rules::default()).await;
    // A policy with a problem is refused, naming the field.
    let mut bad = policy(&d.tenant, None);
    bad["rules"][0]["kind"] = "shouting".into();
    let r = d
        .admin
        .call(reqwest::Method::PUT, "/qa/policy", Some(bad))
        .await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(
        r.body["field"]
            .as_str()
            .unwrap_or_default()
            .contains("rules[0]"),
        "{:?}",
        r.body
    );
    let version = put_policy(&d, policy(&d.tenant, None), &d.admin, None).await;
    assert!(version >= 1);

    let agent = d.staff(&staff("qa-agent", "agent"), true).await;
    // Offline: the conversation must go to the agent.
    let sup = d.staff(&staff("qa-sup", "supervisor"), false).await;
    let other_agent = d.staff(&staff("qa-other", "agent"), false).await;
    let mut board = sup.socket().await.expect("supervisor's desk socket");
    let user = "qa-cust";
    d.say(p, user, "我要转人工", json!({})).await;
    let conversation = d.queued_for(user).await;
    let accepted = eventually("the offer to the agent", WAIT, || async {
        let r = agent.accept(&conversation).await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert_eq!(accepted.body["state"], "active");
    let polite = agent
        .reply(
            &conversation,
            ReplyContent::Text("您好，我是客服小李，请问有什么可以帮您？".into()),
            None,
        )
        .await;
    assert_eq!(polite.status, 200, "{:?}", polite.body);
    // QA has read the greeting and holds the policy before the rude reply is timed.
    eventually("QA reads the conversation", WAIT, || async {
        let r = result(&sup, &conversation).await;
        (r.status == 200
            && r.body["current_policy_version"] == version
            && r.body["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["role"] == "agent")))
        .then_some(())
    })
    .await;

    let sent = Instant::now();
    let rude = agent
        .reply(&conversation, ReplyContent::Text(RUDE.into()), None)
        .await;
    assert_eq!(rude.status, 200, "{:?}", rude.body);
    let alert = board
        .next_event_where("qa.alert", WAIT, |e| {
            e["conversation_id"] == conversation.as_str() && e["rule"] == "forbidden-words"
        })
        .await
        .unwrap_or_else(|| panic!("no QA alert on the board; saw {:?}", board.pending()));
    let took = sent.elapsed();
    assert!(
        took <= ALERT_WITHIN,
        "the alert took {took:?} to reach the supervisor's socket"
    );
    assert_eq!(alert["agent_id"], "qa-agent", "{alert}");
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["excerpt"], RUDE);
    assert_eq!(
        alert["links"]["monitor"],
        format!(
            "/v1/tenants/{}/conversations/{conversation}/monitor",
            d.tenant
        )
    );
    let raised = eventually("qa.alert_raised events", WAIT, || async {
        let mine: Vec<Value> = p
            .events
            .events(&d.tenant)
            .await
            .into_iter()
            .filter(|e| {
                e["event_type"] == "qa.alert_raised"
                    && e["conversation_id"] == conversation.as_str()
            })
            .collect();
        (mine.len() >= 2).then_some(mine)
    })
    .await;
    let mut rules: Vec<&str> = raised
        .iter()
        .filter(|e| e["message_id"] == alert["message_id"])
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    rules.sort_unstable();
    assert_eq!(
        rules,
        ["forbidden-words", "rude-tone"],
        "one event per rule: {raised:?}"
    );

    // Closed: scored with every violation at its message.
    assert_eq!(
        agent.close(&conversation, "处理完毕", &[]).await.status,
        200
    );
    let scored = eventually("the closed conversation's score", WAIT, || async {
        let r = result(&sup, &conversation).await;
        (r.status == 200 && r.body["score"].is_number()).then_some(r.body)
    })
    .await;
    assert_eq!(scored["status"], "closed");
    assert_eq!(
        scored["score"], 0,
        "a critical violation fails it: {scored}"
    );
    let violations = scored["violations"].as_array().unwrap();
    let forbidden = violations
        .iter()
        .find(|v| v["rule"] == "forbidden-words")
        .unwrap_or_else(|| panic!("{scored}"));
    let at = forbidden["message"]
        .as_u64()
        .expect("it points at a message") as usize;
    assert_eq!(scored["messages"][at]["text"], RUDE, "{scored}");
    assert_eq!(scored["messages"][at]["role"], "agent");
    assert!(
        violations
            .iter()
            .any(|v| v["rule"] == "rude-tone" && v["message"] == at),
        "{scored}"
    );
    assert_eq!(scored["review"]["reviewer_id"], "qa-rev");

    // The agent sees their own result and day; another agent finds nothing.
    assert_eq!(result(&agent, &conversation).await.status, 200);
    let days = agent
        .call(reqwest::Method::GET, "/qa/agents/qa-agent/scores", None)
        .await;
    assert_eq!(days.status, 200, "{:?}", days.body);
    assert_eq!(days.body["conversations"], 1, "{:?}", days.body);
    assert_eq!(result(&other_agent, &conversation).await.status, 404);
    let theirs = other_agent
        .call(reqwest::Method::GET, "/qa/agents/qa-agent/scores", None)
        .await;
    assert_eq!(theirs.status, 404, "{:?}", theirs.body);

    // Another tenant: its staff on its own path, and on this tenant's path, get 404.
    let other = Desk::new(p, Rules::default()).await;
    let outsider = other.staff(&staff("qa-sup", "supervisor"), false).await;
    let r = result(&outsider, &conversation).await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    let crossing = DeskClient::with_token(&d.base, &d.tenant, &outsider.token);
    assert_eq!(result(&crossing, &conversation).await.status, 404);

    // A new rule applies without a restart; re-scoring on request brings it to the closed one.
    let v2 = put_policy(
        &d,
        policy(&d.tenant, Some("处理完毕")),
        &sup,
        Some(&conversation),
    )
    .await;
    assert!(v2 > version);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let r = agent
        .call(
            reqwest::Method::POST,
            "/qa/rescore",
            Some(json!({"from": today, "to": today})),
        )
        .await;
    assert_eq!(r.status, 403, "agents may not re-score: {:?}", r.body);
    let r = sup
        .call(
            reqwest::Method::POST,
            "/qa/rescore",
            Some(json!({"from": "soon", "to": today})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (422, Some("from")),
        "{:?}",
        r.body
    );
    let r = sup
        .call(
            reqwest::Method::POST,
            "/qa/rescore",
            Some(json!({"from": today, "to": today})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["policy_version"], v2);
    assert!(r.body["rescored"].as_u64() >= Some(1), "{:?}", r.body);
    let again = result(&sup, &conversation).await.body;
    assert_eq!(again["policy_version"], v2);

    // The sampled review: the reviewer confirms the forbidden phrase and rejects the rest.
    let reviewer = d.staff(&staff("qa-rev", "agent"), false).await;
    let list = reviewer
        .call(reqwest::Method::GET, "/qa/reviews", None)
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let review = list.body["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["conversation_id"] == conversation.as_str())
        .unwrap_or_else(|| panic!("no review of {conversation}: {:?}", list.body))
        .clone();
    assert_eq!(review["reason"], "critical");
    let verdicts: Vec<Value> = again["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let verdict = if v["rule"] == "forbidden-words" {
                "confirmed"
            } else {
                "rejected"
            };
            json!({"finding_id": v["finding_id"], "verdict": verdict})
        })
        .collect();
    let path = format!("/qa/reviews/{}", review["review_id"].as_str().unwrap());
    let r = other_agent
        .call(
            reqwest::Method::POST,
            &path,
            Some(json!({"verdicts": verdicts})),
        )
        .await;
    assert_eq!(r.status, 404, "not their review: {:?}", r.body);
    let r = reviewer
        .call(
            reqwest::Method::POST,
            &path,
            Some(json!({"verdicts": [{"finding_id": "x", "verdict": "confirmed"}]})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (422, Some("verdicts[0].finding_id")),
        "{:?}",
        r.body
    );
    let r = reviewer
        .call(
            reqwest::Method::POST,
            &path,
            Some(json!({"verdicts": verdicts, "comment": "属实"})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["review"]["status"], "done");
    assert_eq!(
        r.body["result"]["score"], 0,
        "the confirmed phrase still fails it"
    );
    let accuracy = sup
        .call(reqwest::Method::GET, "/qa/rules/accuracy", None)
        .await;
    assert_eq!(accuracy.status, 200, "{:?}", accuracy.body);
    assert!(
        accuracy.body["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "forbidden-words" && r["confirmed"] == 1),
        "{:?}",
        accuracy.body
    );

    // The agent appeals once; the supervisor settles it.
    let appeal_path = format!("/qa/conversations/{conversation}/appeal");
    let appeal = |comment: &'static str| {
        agent.call(
            reqwest::Method::POST,
            &appeal_path,
            Some(json!({"comment": comment})),
        )
    };
    let r = appeal("客户先辱骂在先").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["appeal"]["status"], "open");
    assert_eq!(appeal("再申诉一次").await.status, 409);
    let r = sup
        .call(
            reqwest::Method::POST,
            &format!("/qa/conversations/{conversation}/appeal/settle"),
            Some(json!({"decision": "dismissed", "comment": "证据不足"})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["appeal"]["status"], "dismissed");
    assert_eq!(r.body["score"], 0);
    board.close().await;
}
