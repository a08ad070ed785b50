//! WeChat Customer Service (微信客服) through WeCom: the callback only says that something
//! happened (`kf_msg_or_event`, with a short-lived `Token`); the messages are pulled with
//! `kf/sync_msg` from a cursor, a page at a time. This reads the callback and a page.

use super::push::Push;
use crate::{Inbound, Kind, ParseError};
use serde_json::Value;

/// Messages in one page at most (WeCom's own limit is 1000).
pub const MAX_PAGE: usize = 1000;
const MAX_ID: usize = 128;
const MAX_TEXT_CHARS: usize = 5_000;

/// The decrypted callback: the customer-service account it is about and the `Token` that
/// lets `sync_msg` pull (valid 10 minutes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callback {
    pub open_kfid: String,
    pub token: String,
}

impl Callback {
    /// `None` for a callback about something else than messages (e.g. an account's changes).
    pub fn read(push: &Push) -> Result<Option<Callback>, ParseError> {
        if push.get("Event") != "kf_msg_or_event" {
            return Ok(None);
        }
        let open_kfid = push.get("OpenKfId");
        if open_kfid.is_empty() || open_kfid.len() > MAX_ID {
            return Err(ParseError::field("OpenKfId", "is required"));
        }
        let token = push.get("Token");
        if token.len() > 1024 {
            return Err(ParseError::field("Token", "is too long"));
        }
        Ok(Some(Callback {
            open_kfid: open_kfid.to_owned(),
            token: token.to_owned(),
        }))
    }
}

/// One page of `kf/sync_msg`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub next_cursor: String,
    pub has_more: bool,
    /// The customers' messages of the account asked for, in order.
    pub messages: Vec<Inbound>,
    /// Entries that were not customers' messages (events, the agents' own, other accounts').
    pub skipped: usize,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or("")
}

fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .take(MAX_TEXT_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

impl Page {
    /// Reads a `sync_msg` answer for the account `open_kfid`. `media_link` turns a media id
    /// into a link the agents can open.
    pub fn read(
        raw: &[u8],
        open_kfid: &str,
        media_link: &dyn Fn(&str) -> String,
    ) -> Result<Page, ParseError> {
        let v: Value = serde_json::from_slice(raw).map_err(|e| ParseError::malformed("JSON", e))?;
        if !v.is_object() {
            return Err(ParseError::malformed(
                "JSON",
                "the answer must be an object",
            ));
        }
        let list = match &v["msg_list"] {
            Value::Array(l) => l.as_slice(),
            Value::Null => &[],
            _ => return Err(ParseError::field("msg_list", "must be an array")),
        };
        if list.len() > MAX_PAGE {
            return Err(ParseError::field("msg_list", "is longer than a page"));
        }
        let mut page = Page {
            next_cursor: str_at(&v, &["next_cursor"]).to_owned(),
            has_more: v["has_more"].as_i64() == Some(1) || v["has_more"] == Value::Bool(true),
            ..Page::default()
        };
        if page.next_cursor.len() > 1024 {
            return Err(ParseError::field("next_cursor", "is too long"));
        }
        for m in list {
            // origin 3: the customer; 4: a system event; 5: an agent in WeCom itself.
            if m["origin"].as_i64() != Some(3) || str_at(m, &["open_kfid"]) != open_kfid {
                page.skipped += 1;
                continue;
            }
            let msgid = str_at(m, &["msgid"]);
            let user = str_at(m, &["external_userid"]);
            if msgid.is_empty() || msgid.len() > MAX_ID || user.is_empty() || user.len() > MAX_ID {
                return Err(ParseError::field(
                    "msg_list[].msgid",
                    "and external_userid are required",
                ));
            }
            let mut inbound = Inbound {
                external_message_id: msgid.to_owned(),
                external_user_id: user.to_owned(),
                ..Inbound::default()
            };
            let media = |kind: &str| {
                let id = str_at(m, &[kind, "media_id"]);
                (!id.is_empty() && id.len() <= 512).then(|| media_link(id))
            };
            match str_at(m, &["msgtype"]) {
                "text" => inbound.text = clean(str_at(m, &["text", "content"])),
                "image" => match media("image") {
                    Some(link) => inbound.text = format!("[图片] {link}"),
                    None => return Err(ParseError::field("image.media_id", "is required")),
                },
                "voice" => match media("voice") {
                    Some(link) => inbound.text = format!("[语音] {link}"),
                    None => return Err(ParseError::field("voice.media_id", "is required")),
                },
                "video" => match media("video") {
                    Some(link) => inbound.text = format!("[视频] {link}"),
                    None => return Err(ParseError::field("video.media_id", "is required")),
                },
                "file" => match media("file") {
                    Some(link) => inbound.text = format!("[文件] {link}"),
                    None => return Err(ParseError::field("file.media_id", "is required")),
                },
                "location" => {
                    inbound.text = clean(&format!(
                        "[位置] {} {} ({}, {})",
                        str_at(m, &["location", "name"]),
                        str_at(m, &["location", "address"]),
                        m["location"]["latitude"],
                        m["location"]["longitude"]
                    ))
                }
                "link" => {
                    inbound.text = clean(&format!(
                        "[链接] {} {}",
                        str_at(m, &["link", "title"]),
                        str_at(m, &["link", "url"])
                    ))
                }
                "miniprogram" => {
                    inbound.text = clean(&format!(
                        "[小程序卡片] {} {}",
                        str_at(m, &["miniprogram", "title"]),
                        str_at(m, &["miniprogram", "pagepath"])
                    ))
                }
                // The customer picked an option of a menu message: its id names an action or
                // is what they ask.
                "msgmenu" | "menu" => {
                    let id = clean(str_at(m, &["msgmenu", "id"]));
                    inbound.kind = Kind::Action;
                    inbound.action = id.clone();
                    inbound.text = id;
                }
                _ => {
                    page.skipped += 1;
                    continue;
                }
            }
            if inbound.text.is_empty() {
                page.skipped += 1;
                continue;
            }
            page.messages.push(inbound);
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_page_and_skips_what_is_not_the_customers() {
        let raw = r#"{"errcode":0,"errmsg":"ok","next_cursor":"c2","has_more":1,"msg_list":[
            {"msgid":"m1","open_kfid":"wk1","external_userid":"wm1","send_time":1,"origin":3,"msgtype":"text","text":{"content":"退货"}},
            {"msgid":"m2","open_kfid":"wk1","external_userid":"wm1","send_time":2,"origin":5,"msgtype":"text","text":{"content":"agent"}},
            {"msgid":"m3","open_kfid":"wk2","external_userid":"wm1","send_time":3,"origin":3,"msgtype":"text","text":{"content":"other account"}},
            {"msgid":"m4","open_kfid":"wk1","external_userid":"wm2","send_time":4,"origin":3,"msgtype":"image","image":{"media_id":"MID"}},
            {"msgid":"m5","open_kfid":"wk1","origin":4,"msgtype":"event","event":{"event_type":"enter_session"}}
        ]}"#;
        let page = Page::read(raw.as_bytes(), "wk1", &|id| format!("/m/{id}")).unwrap();
        assert_eq!(
            (page.next_cursor.as_str(), page.has_more, page.skipped),
            ("c2", true, 3)
        );
        assert_eq!(page.messages.len(), 2);
        assert_eq!(page.messages[0].text, "退货");
        assert_eq!(page.messages[1].text, "[图片] /m/MID");
        assert!(Page::read(b"[]", "wk1", &|id| id.to_owned()).is_err());
        assert!(
            Page::read(
                br#"{"msg_list":[{"origin":3,"open_kfid":"wk1"}]}"#,
                "wk1",
                &|id| id.to_owned()
            )
            .is_err()
        );
    }
}
