//! `Injector`/`Extractor` adapters for the carriers used in Kefu: string maps, HTTP headers and
//! tonic metadata.

use opentelemetry::propagation::{Extractor, Injector};

use crate::TraceContext;

/// Adapter over a [`TraceContext`] map.
pub(crate) struct MapCarrier<'a>(pub(crate) &'a mut TraceContext);

impl Injector for MapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

/// Read-only adapter over a [`TraceContext`] map. Lookups are case-insensitive because some
/// transports (AMQP headers, HTTP/2) may change the case of keys.
pub(crate) struct MapExtractor<'a>(pub(crate) &'a TraceContext);

impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        })
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// Adapter over an [`http::HeaderMap`].
pub(crate) struct HeaderInjector<'a>(pub(crate) &'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) else {
            return;
        };
        self.0.insert(name, value);
    }
}

/// Read-only adapter over an [`http::HeaderMap`].
pub(crate) struct HeaderExtractor<'a>(pub(crate) &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Adapter over tonic request metadata (ASCII entries only).
pub(crate) struct MetadataInjector<'a>(pub(crate) &'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) else {
            return;
        };
        self.0.insert(key, value);
    }
}

/// Read-only adapter over tonic request metadata.
pub(crate) struct MetadataExtractor<'a>(pub(crate) &'a tonic::metadata::MetadataMap);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|k| match k {
                tonic::metadata::KeyRef::Ascii(k) => Some(k.as_str()),
                tonic::metadata::KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_extractor_is_case_insensitive() {
        let mut map = TraceContext::new();
        map.insert("TraceParent".into(), "x".into());
        assert_eq!(MapExtractor(&map).get("traceparent"), Some("x"));
        assert_eq!(MapExtractor(&map).keys(), vec!["TraceParent"]);
    }

    #[test]
    fn header_round_trip() {
        let mut headers = http::HeaderMap::new();
        HeaderInjector(&mut headers).set("traceparent", "abc".into());
        HeaderInjector(&mut headers).set("bad header", "abc".into());
        assert_eq!(HeaderExtractor(&headers).get("traceparent"), Some("abc"));
        assert_eq!(HeaderExtractor(&headers).keys(), vec!["traceparent"]);
    }

    #[test]
    fn metadata_round_trip() {
        let mut md = tonic::metadata::MetadataMap::new();
        MetadataInjector(&mut md).set("tracestate", "k=v".into());
        assert_eq!(MetadataExtractor(&md).get("tracestate"), Some("k=v"));
        assert_eq!(MetadataExtractor(&md).keys(), vec!["tracestate"]);
    }
}
