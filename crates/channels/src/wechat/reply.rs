//! What Kefu sends WeChat: passive replies (the answer to a push, plain or in the encrypted
//! envelope) and the bodies of the message APIs.

use serde_json::{Value, json};

/// `text` inside a CDATA section, whatever it contains.
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// A passive text reply to `to` (the customer's openid) from `from` (the account).
pub fn text_xml(to: &str, from: &str, created: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>{}</Content></xml>",
        cdata(to),
        cdata(from),
        cdata(content)
    )
}

/// The safe-mode envelope of an encrypted reply.
pub fn encrypted_xml(encrypt: &str, msg_signature: &str, timestamp: &str, nonce: &str) -> String {
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(encrypt),
        cdata(msg_signature),
        cdata(timestamp),
        cdata(nonce)
    )
}

/// A customer-service message (`cgi-bin/message/custom/send`, accounts and mini-programs).
pub fn custom_text(openid: &str, content: &str) -> Value {
    json!({"touser": openid, "msgtype": "text", "text": {"content": content}})
}

/// A template message (`cgi-bin/message/template/send`) carrying `content` in `field`.
pub fn template(openid: &str, template_id: &str, field: &str, content: &str) -> Value {
    json!({
        "touser": openid,
        "template_id": template_id,
        "data": { field: { "value": content } }
    })
}

/// A WeChat Customer Service message (`cgi-bin/kf/send_msg`); `msgid` makes a retry the same
/// message.
pub fn kf_text(external_userid: &str, open_kfid: &str, msgid: &str, content: &str) -> Value {
    json!({
        "touser": external_userid,
        "open_kfid": open_kfid,
        "msgid": msgid,
        "msgtype": "text",
        "text": {"content": content}
    })
}

/// WeChat's text limit is 2048 bytes: longer replies are cut at a character boundary.
pub fn fit(content: &str, max_bytes: usize) -> &str {
    if content.len() <= max_bytes {
        return content;
    }
    let mut end = max_bytes;
    while !content.is_char_boundary(end) {
        end -= 1;
    }
    &content[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::push::Push;

    #[test]
    fn a_reply_reads_back_whatever_its_text() {
        let xml = text_xml("o1", "gh_1", 7, "a]]>b <c> &");
        let p = Push::parse_xml(xml.as_bytes()).unwrap();
        assert_eq!(p.get("Content"), "a]]>b <c> &");
        assert_eq!(p.get("ToUserName"), "o1");
    }

    #[test]
    fn fit_cuts_at_a_character() {
        assert_eq!(fit("你好", 4), "你");
        assert_eq!(fit("ok", 4), "ok");
    }
}
