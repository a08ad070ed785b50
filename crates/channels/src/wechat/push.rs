//! WeChat's message pushes: a flat `<xml>` of fields (or, for mini-programs, the same fields as
//! a flat JSON object), and what Kefu makes of them.
//!
//! Parsing is strict about shape and bounded in size: one `<xml>` root, no DTD (so no entity
//! can expand), at most [`MAX_FIELDS`] fields of at most [`MAX_FIELD`] bytes; unknown fields
//! are kept but unused (WeChat adds fields over time), nested ones skipped.

use crate::{Inbound, Kind, ParseError};
use quick_xml::events::Event;
use std::collections::BTreeMap;

pub const MAX_FIELDS: usize = 64;
pub const MAX_FIELD: usize = 16 * 1024;
/// Ids (openid, MsgId) are short; anything longer is not WeChat's.
const MAX_ID: usize = 128;
/// The text of a message: WeChat allows 2048 bytes; the content model allows more.
const MAX_TEXT_CHARS: usize = 5_000;

/// One push: its top-level fields by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Push(pub BTreeMap<String, String>);

impl Push {
    /// A field's value, empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    fn insert(&mut self, name: String, value: String) -> Result<(), ParseError> {
        if self.0.len() >= MAX_FIELDS && !self.0.contains_key(&name) {
            return Err(ParseError::malformed(
                "push",
                format!("more than {MAX_FIELDS} fields"),
            ));
        }
        if value.len() > MAX_FIELD {
            return Err(ParseError::field(
                &name,
                format!("longer than {MAX_FIELD} bytes"),
            ));
        }
        self.0.insert(name, value);
        Ok(())
    }

    /// Parses a push's XML.
    pub fn parse_xml(raw: &[u8]) -> Result<Push, ParseError> {
        let text = std::str::from_utf8(raw).map_err(|e| ParseError::malformed("XML", e))?;
        let mut reader = quick_xml::Reader::from_str(text);
        let mut push = Push::default();
        let mut depth = 0usize;
        let mut root_seen = false;
        let mut field: Option<(String, String)> = None;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| ParseError::malformed("XML", e))?;
            match event {
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => {
                    return Err(ParseError::malformed("XML", "a DOCTYPE is not accepted"));
                }
                Event::Start(e) => {
                    depth += 1;
                    let name = std::str::from_utf8(e.name().as_ref())
                        .map_err(|e| ParseError::malformed("XML", e))?
                        .to_owned();
                    match depth {
                        1 if name == "xml" && !root_seen => root_seen = true,
                        1 => {
                            return Err(ParseError::malformed(
                                "XML",
                                "the root element must be one <xml>",
                            ));
                        }
                        2 => field = Some((name, String::new())),
                        // Nested structures (scan or photo details) are not used.
                        _ => {}
                    }
                    if depth > 8 {
                        return Err(ParseError::malformed("XML", "nested too deep"));
                    }
                }
                Event::Empty(e) => {
                    if depth == 1 {
                        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                        push.insert(name, String::new())?;
                    } else if depth == 0 {
                        return Err(ParseError::malformed("XML", "the root element is empty"));
                    }
                }
                Event::Text(t) => {
                    let s = t.decode().map_err(|e| ParseError::malformed("XML", e))?;
                    match (&mut field, depth) {
                        (Some((_, value)), 2) => append(value, &s)?,
                        (_, 0 | 1) if s.trim().is_empty() => {}
                        (_, 0 | 1) => {
                            return Err(ParseError::malformed("XML", "text outside a field"));
                        }
                        _ => {}
                    }
                }
                Event::CData(c) => {
                    let s = c.decode().map_err(|e| ParseError::malformed("XML", e))?;
                    match (&mut field, depth) {
                        (Some((_, value)), 2) => append(value, &s)?,
                        (_, 0 | 1) => {
                            return Err(ParseError::malformed("XML", "text outside a field"));
                        }
                        _ => {}
                    }
                }
                Event::GeneralRef(r) => {
                    let resolved = match r
                        .resolve_char_ref()
                        .map_err(|e| ParseError::malformed("XML", e))?
                    {
                        Some(c) => c.to_string(),
                        None => {
                            let name = r.decode().map_err(|e| ParseError::malformed("XML", e))?;
                            quick_xml::escape::resolve_predefined_entity(&name)
                                .ok_or_else(|| {
                                    ParseError::malformed("XML", format!("unknown entity &{name};"))
                                })?
                                .to_owned()
                        }
                    };
                    if let (Some((_, value)), 2) = (&mut field, depth) {
                        append(value, &resolved)?;
                    }
                }
                Event::End(_) => {
                    if depth == 2
                        && let Some((name, value)) = field.take()
                    {
                        push.insert(name, value)?;
                    }
                    depth = depth.saturating_sub(1);
                }
                Event::Eof => break,
            }
        }
        if !root_seen || depth != 0 {
            return Err(ParseError::malformed("XML", "no complete <xml> root"));
        }
        Ok(push)
    }

    /// Parses a mini-program's JSON push: a flat object whose values are strings or numbers.
    pub fn parse_json(raw: &[u8]) -> Result<Push, ParseError> {
        let value: serde_json::Value =
            serde_json::from_slice(raw).map_err(|e| ParseError::malformed("JSON", e))?;
        let obj = value
            .as_object()
            .ok_or_else(|| ParseError::malformed("JSON", "the push must be an object"))?;
        let mut push = Push::default();
        for (k, v) in obj {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => String::new(),
                // Nested structures are not used.
                _ => continue,
            };
            push.insert(k.clone(), s)?;
        }
        Ok(push)
    }

    /// Parses XML or JSON, whichever the body is.
    pub fn parse(raw: &[u8]) -> Result<Push, ParseError> {
        match raw.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Self::parse_json(raw),
            _ => Self::parse_xml(raw),
        }
    }
}

fn append(value: &mut String, s: &str) -> Result<(), ParseError> {
    if value.len() + s.len() > MAX_FIELD {
        return Err(ParseError::malformed(
            "XML",
            format!("a field is longer than {MAX_FIELD} bytes"),
        ));
    }
    value.push_str(s);
    Ok(())
}

/// What a push means to Kefu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// A customer's message (or menu press) for a conversation.
    Message(Inbound),
    /// The customer followed the account (`subscribe`), from the scene in `scene` when they
    /// scanned a code.
    Followed { openid: String, scene: String },
    /// Nothing for a conversation (`unsubscribe`, a location report, a view event, …): only
    /// acknowledged.
    Ignored(String),
}

fn id(push: &Push, field: &str) -> Result<String, ParseError> {
    let v = push.get(field);
    if v.is_empty() {
        return Err(ParseError::field(field, "is required"));
    }
    if v.len() > MAX_ID || v.chars().any(char::is_control) {
        return Err(ParseError::field(
            field,
            format!("must be at most {MAX_ID} bytes without control characters"),
        ));
    }
    Ok(v.to_owned())
}

fn http_url(push: &Push, field: &str) -> Result<String, ParseError> {
    let v = push.get(field).trim();
    if (v.starts_with("https://") || v.starts_with("http://"))
        && v.len() <= 2048
        && !v.contains(char::is_whitespace)
    {
        Ok(v.to_owned())
    } else {
        Err(ParseError::field(field, "must be an http(s) URL"))
    }
}

/// Drops control characters other than newlines and tabs, and bounds the length.
fn clean_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .take(MAX_TEXT_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

impl Push {
    /// What the push means. `media_link` turns a voice or video's media id into a link the
    /// agents can open (WeChat's media API needs the access token, so the gateway serves it).
    pub fn meaning(&self, media_link: &dyn Fn(&str) -> String) -> Result<Meaning, ParseError> {
        let openid = id(self, "FromUserName")?;
        let msg_type = self.get("MsgType");
        let mut m = Inbound {
            external_user_id: openid.clone(),
            identities: vec![("wechat_openid".to_owned(), openid.clone())],
            ..Inbound::default()
        };
        if let Some(unionid) = self.0.get("UnionId").filter(|u| !u.is_empty()) {
            if unionid.len() > MAX_ID {
                return Err(ParseError::field("UnionId", "is too long"));
            }
            m.identities
                .push(("wechat_unionid".to_owned(), unionid.clone()));
        }
        if msg_type == "event" {
            return self.event(m);
        }
        m.external_message_id = id(self, "MsgId")?;
        match msg_type {
            "text" => {
                m.text = clean_text(self.get("Content"));
                if m.text.is_empty() {
                    return Err(ParseError::field("Content", "must not be blank"));
                }
            }
            "image" => {
                m.kind = Kind::Image;
                m.image_url = http_url(self, "PicUrl")?;
            }
            "voice" => {
                let media = id(self, "MediaId")?;
                let said = clean_text(self.get("Recognition"));
                m.text = format!("[语音] {said} {}", media_link(&media))
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
            }
            "video" | "shortvideo" => {
                let media = id(self, "MediaId")?;
                m.text = format!("[视频] {}", media_link(&media));
            }
            "location" => {
                let (x, y) = (self.get("Location_X"), self.get("Location_Y"));
                let ok = |v: &str| v.parse::<f64>().is_ok_and(f64::is_finite);
                if !ok(x) || !ok(y) {
                    return Err(ParseError::field("Location_X", "must be a coordinate"));
                }
                m.text = clean_text(&format!("[位置] {} ({x}, {y})", self.get("Label")));
            }
            "link" => {
                let url = http_url(self, "Url")?;
                m.text = clean_text(&format!("[链接] {} {url}", self.get("Title")));
            }
            "miniprogrampage" => {
                m.text = clean_text(&format!(
                    "[小程序卡片] {} {}",
                    self.get("Title"),
                    self.get("PagePath")
                ));
            }
            "" => return Err(ParseError::field("MsgType", "is required")),
            other => {
                return Ok(Meaning::Ignored(format!(
                    "message type {}",
                    other.chars().take(32).collect::<String>()
                )));
            }
        }
        Ok(Meaning::Message(m))
    }

    fn event(&self, mut m: Inbound) -> Result<Meaning, ParseError> {
        let event = self.get("Event");
        // Events have no MsgId: WeChat's advice is FromUserName + CreateTime.
        let created = self.get("CreateTime");
        if created.is_empty() || created.len() > 20 || !created.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ParseError::field("CreateTime", "must be a number"));
        }
        m.external_message_id = format!("event:{created}:{}", m.external_user_id);
        match event {
            "subscribe" => Ok(Meaning::Followed {
                openid: m.external_user_id,
                scene: clean_text(self.get("EventKey").trim_start_matches("qrscene_")),
            }),
            "CLICK" => {
                let key = clean_text(self.get("EventKey"));
                if key.is_empty() {
                    return Err(ParseError::field("EventKey", "is required for a click"));
                }
                if key.len() > MAX_ID {
                    return Err(ParseError::field("EventKey", "is too long"));
                }
                // A key that names an action (order_lookup, handoff, …) is that button;
                // another is what the customer asks.
                m.action = key.clone();
                m.kind = Kind::Action;
                m.text = key;
                Ok(Meaning::Message(m))
            }
            "" => Err(ParseError::field("Event", "is required")),
            other => Ok(Meaning::Ignored(format!(
                "event {}",
                other.chars().take(32).collect::<String>()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: &str) -> String {
        format!("/media/{id}")
    }

    fn msg(xml: &str) -> Inbound {
        match Push::parse_xml(xml.as_bytes())
            .unwrap()
            .meaning(&link)
            .unwrap()
        {
            Meaning::Message(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_each_message_type() {
        let t = msg(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[我的快递到哪了 &amp; <b>]]></Content><MsgId>1001</MsgId></xml>",
        );
        assert_eq!(t.text, "我的快递到哪了 &amp; <b>");
        assert_eq!(
            (t.external_message_id.as_str(), t.external_user_id.as_str()),
            ("1001", "o1")
        );
        assert_eq!(
            t.identities,
            [("wechat_openid".to_owned(), "o1".to_owned())]
        );
        let e = msg(
            "<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><Content>a &lt; b &#x4F60;</Content><MsgId>2</MsgId></xml>",
        );
        assert_eq!(e.text, "a < b 你");
        let i = msg(
            "<xml><FromUserName>o1</FromUserName><MsgType>image</MsgType><PicUrl>https://mmbiz.example/p.jpg</PicUrl><MediaId>m</MediaId><MsgId>3</MsgId></xml>",
        );
        assert_eq!(
            (i.kind, i.image_url.as_str()),
            (Kind::Image, "https://mmbiz.example/p.jpg")
        );
        let v = msg(
            "<xml><FromUserName>o1</FromUserName><MsgType>voice</MsgType><MediaId>MID</MediaId><Format>amr</Format><Recognition>退货</Recognition><MsgId>4</MsgId></xml>",
        );
        assert_eq!(v.text, "[语音] 退货 /media/MID");
        let l = msg(
            "<xml><FromUserName>o1</FromUserName><MsgType>location</MsgType><Location_X>31.2</Location_X><Location_Y>121.5</Location_Y><Label>上海</Label><MsgId>5</MsgId></xml>",
        );
        assert_eq!(l.text, "[位置] 上海 (31.2, 121.5)");
        let k = msg(
            "<xml><FromUserName>o1</FromUserName><MsgType>link</MsgType><Title>T</Title><Url>https://x.example/a</Url><MsgId>6</MsgId></xml>",
        );
        assert_eq!(k.text, "[链接] T https://x.example/a");
        let c = msg(
            "<xml><FromUserName>o1</FromUserName><CreateTime>99</CreateTime><MsgType>event</MsgType><Event>CLICK</Event><EventKey>order_lookup</EventKey></xml>",
        );
        assert_eq!((c.kind, c.action.as_str()), (Kind::Action, "order_lookup"));
        assert_eq!(c.external_message_id, "event:99:o1");
    }

    #[test]
    fn events_that_are_not_messages() {
        let p = Push::parse_xml(b"<xml><FromUserName>o1</FromUserName><CreateTime>5</CreateTime><MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_store-12</EventKey></xml>").unwrap();
        assert_eq!(
            p.meaning(&link).unwrap(),
            Meaning::Followed {
                openid: "o1".into(),
                scene: "store-12".into()
            }
        );
        let p = Push::parse_xml(b"<xml><FromUserName>o1</FromUserName><CreateTime>5</CreateTime><MsgType>event</MsgType><Event>unsubscribe</Event></xml>").unwrap();
        assert!(matches!(p.meaning(&link).unwrap(), Meaning::Ignored(_)));
    }

    #[test]
    fn mini_program_json() {
        let p = Push::parse(br#" {"ToUserName":"gh_2","FromUserName":"o2","CreateTime":1482048670,"MsgType":"text","Content":"hi","MsgId":1234567890123456} "#).unwrap();
        match p.meaning(&link).unwrap() {
            Meaning::Message(m) => assert_eq!(
                (m.text.as_str(), m.external_message_id.as_str()),
                ("hi", "1234567890123456")
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_what_is_not_a_push() {
        for bad in [
            "",
            "<xml>",
            "<a><b>1</b></a>",
            "<xml><a>1</a></xml><xml/>",
            "<!DOCTYPE x [<!ENTITY e 'boom'>]><xml><Content>&e;</Content></xml>",
            "<xml><Content>&e;</Content></xml>",
            "<xml>loose text<a>1</a></xml>",
            "<xml><a>1</b></xml>",
        ] {
            assert!(Push::parse_xml(bad.as_bytes()).is_err(), "{bad}");
        }
        let many: String = (0..100).map(|i| format!("<f{i}>1</f{i}>")).collect();
        assert!(Push::parse_xml(format!("<xml>{many}</xml>").as_bytes()).is_err());
        let big = format!(
            "<xml><Content>{}</Content></xml>",
            "x".repeat(MAX_FIELD + 1)
        );
        assert!(Push::parse_xml(big.as_bytes()).is_err());
        // Parsed but not a message Kefu can take: the field at fault is named.
        for (xml, field) in [
            (
                "<xml><MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>",
                "FromUserName",
            ),
            (
                "<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content>x</Content></xml>",
                "MsgId",
            ),
            (
                "<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content> </Content><MsgId>1</MsgId></xml>",
                "Content",
            ),
            (
                "<xml><FromUserName>o</FromUserName><MsgType>image</MsgType><PicUrl>javascript:x</PicUrl><MsgId>1</MsgId></xml>",
                "PicUrl",
            ),
            (
                "<xml><FromUserName>o</FromUserName><MsgType>event</MsgType><Event>CLICK</Event></xml>",
                "CreateTime",
            ),
        ] {
            match Push::parse_xml(xml.as_bytes()).unwrap().meaning(&link) {
                Err(ParseError::Field { field: f, .. }) => assert_eq!(f, field, "{xml}"),
                other => panic!("{xml}: {other:?}"),
            }
        }
    }
}
