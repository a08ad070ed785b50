//! Mapping between [`Envelope`] and AMQP message properties/headers.

use chrono::{DateTime, Utc};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, ShortString};

use crate::envelope::{CONTENT_TYPE, TRACE_KEYS};
use crate::{BusError, Envelope, TraceContext};

/// Header carrying the tenant id.
pub const TENANT_HEADER: &str = "kefu-tenant";
/// Header carrying `occurred_at` in exact Unix milliseconds.
pub const OCCURRED_AT_MS_HEADER: &str = "kefu-occurred-at-ms";
/// Quorum-queue header: number of previous deliveries of this message.
pub const DELIVERY_COUNT_HEADER: &str = "x-delivery-count";

/// AMQP persistent delivery mode.
const PERSISTENT: u8 = 2;

/// Properties of the AMQP message carrying `envelope` (body = payload,
/// routing key = event type).
pub fn properties(envelope: &Envelope) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        TENANT_HEADER.into(),
        AMQPValue::LongString(envelope.tenant_id.as_str().into()),
    );
    headers.insert(
        OCCURRED_AT_MS_HEADER.into(),
        AMQPValue::LongLongInt(envelope.occurred_at.timestamp_millis()),
    );
    for (key, value) in &envelope.trace_context {
        if TRACE_KEYS.contains(&key.as_str()) {
            headers.insert(
                key.as_str().into(),
                AMQPValue::LongString(value.as_str().into()),
            );
        }
    }
    BasicProperties::default()
        .with_message_id(envelope.event_id.to_string().into())
        .with_type(envelope.event_type.as_str().into())
        .with_timestamp(u64::try_from(envelope.occurred_at.timestamp()).unwrap_or(0))
        .with_content_type(CONTENT_TYPE.into())
        .with_delivery_mode(PERSISTENT)
        .with_headers(headers)
}

/// Rebuilds the envelope from a received message.
pub fn envelope(
    properties: &BasicProperties,
    routing_key: &ShortString,
    body: Vec<u8>,
) -> Result<Envelope, BusError> {
    let empty = FieldTable::default();
    let headers = properties.headers().as_ref().unwrap_or(&empty);
    let message_id = properties
        .message_id()
        .as_ref()
        .ok_or_else(|| BusError::Decode("missing message_id".into()))?;
    let event_id = uuid::Uuid::parse_str(message_id.as_str())
        .map_err(|error| BusError::Decode(format!("message_id {message_id:?}: {error}")))?;
    let tenant_id = header_string(headers, TENANT_HEADER)
        .ok_or_else(|| BusError::Decode(format!("missing header {TENANT_HEADER}")))?;
    let event_type = properties
        .kind()
        .as_ref()
        .unwrap_or(routing_key)
        .to_string();
    let occurred_at = header_int(headers, OCCURRED_AT_MS_HEADER)
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .or_else(|| {
            properties
                .timestamp()
                .and_then(|secs| DateTime::from_timestamp(i64::try_from(secs).ok()?, 0))
        })
        .ok_or_else(|| BusError::Decode("missing occurred-at".into()))?;
    let trace_context: TraceContext = TRACE_KEYS
        .iter()
        .filter_map(|key| Some(((*key).to_owned(), header_string(headers, key)?)))
        .collect();
    Ok(Envelope {
        event_id,
        tenant_id,
        event_type,
        occurred_at,
        trace_context,
        payload: body.into(),
    })
}

/// Deliveries so far, including this one: `x-delivery-count` + 1.
pub fn delivery_count(properties: &BasicProperties) -> u32 {
    let previous = properties
        .headers()
        .as_ref()
        .and_then(|headers| header_int(headers, DELIVERY_COUNT_HEADER))
        .unwrap_or(0);
    u32::try_from(previous)
        .unwrap_or(u32::MAX - 1)
        .saturating_add(1)
}

fn header_string(headers: &FieldTable, key: &str) -> Option<String> {
    match headers.inner().get(key)? {
        AMQPValue::LongString(value) => String::from_utf8(value.as_bytes().to_vec()).ok(),
        AMQPValue::ShortString(value) => Some(value.to_string()),
        _ => None,
    }
}

fn header_int(headers: &FieldTable, key: &str) -> Option<i64> {
    Some(match headers.inner().get(key)? {
        AMQPValue::ShortShortInt(v) => i64::from(*v),
        AMQPValue::ShortShortUInt(v) => i64::from(*v),
        AMQPValue::ShortInt(v) => i64::from(*v),
        AMQPValue::ShortUInt(v) => i64::from(*v),
        AMQPValue::LongInt(v) => i64::from(*v),
        AMQPValue::LongUInt(v) => i64::from(*v),
        AMQPValue::LongLongInt(v) => *v,
        AMQPValue::Timestamp(v) => i64::try_from(*v).ok()?,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        let mut envelope = Envelope::new("tenant-1", "message.received", &b"\x08\x01"[..]);
        envelope.trace_context.insert(
            "traceparent".into(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        );
        envelope
            .trace_context
            .insert("tracestate".into(), "k=v".into());
        envelope
    }

    #[test]
    fn header_mapping_round_trips() {
        let envelope = sample();
        let props = properties(&envelope);
        assert_eq!(props.delivery_mode(), &Some(2));
        assert_eq!(
            props.content_type().as_ref().unwrap().as_str(),
            CONTENT_TYPE
        );
        assert_eq!(
            props.message_id().as_ref().unwrap().as_str(),
            envelope.event_id.to_string()
        );
        let headers = props.headers().as_ref().unwrap();
        assert!(headers.contains_key(TENANT_HEADER));
        assert!(headers.contains_key("traceparent"));
        let decoded = super::envelope(
            &props,
            &"message.received".into(),
            envelope.payload.to_vec(),
        )
        .unwrap();
        assert_eq!(decoded, envelope);
        assert_eq!(delivery_count(&props), 1);
    }

    #[test]
    fn only_w3c_keys_travel_and_delivery_count_is_read() {
        let mut envelope = sample();
        envelope
            .trace_context
            .insert("baggage".into(), "x=y".into());
        let mut headers = properties(&envelope).headers().clone().unwrap();
        assert!(!headers.contains_key("baggage"));
        headers.insert(DELIVERY_COUNT_HEADER.into(), AMQPValue::LongLongInt(2));
        let props = properties(&envelope).with_headers(headers);
        assert_eq!(delivery_count(&props), 3);
    }

    #[test]
    fn missing_fields_are_decode_errors() {
        let props = BasicProperties::default();
        let error = super::envelope(&props, &"a".into(), Vec::new()).unwrap_err();
        assert!(matches!(error, BusError::Decode(_)), "{error}");
    }
}
