//! The groups list cursor: URL-safe base64, with `=` padding, of the JSON text
//! `{"c": <created_at µs>, "k": "<group_key>"}` exactly as Python's `json.dumps` writes it
//! (default separators, `ensure_ascii`), so cursors are interchangeable with PostHog's.
use base64::{Engine, engine::general_purpose::URL_SAFE};

/// A position in the list order: rows strictly after it come next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// `created_at` of the last row seen, µs since the epoch.
    pub created_at_us: i64,
    /// `group_key` of the last row seen.
    pub key: String,
}

/// Values of `c` below this are milliseconds (older cursors), at or above it microseconds.
const MILLIS_BELOW: i64 = 1_000_000_000_000_000;

impl Cursor {
    /// The cursor's wire text.
    pub fn encode(&self) -> String {
        let mut json = format!("{{\"c\": {}, \"k\": ", self.created_at_us);
        python_json_string(&self.key, &mut json);
        json.push('}');
        URL_SAFE.encode(json)
    }

    /// Decodes a cursor; `None` for anything undecodable or without `k` (the caller then serves
    /// the first page). Padding may be missing; standard-alphabet base64 is accepted too.
    pub fn decode(s: &str) -> Option<Self> {
        let s = s.trim();
        let bytes = URL_SAFE
            .decode(s)
            .or_else(|_| {
                let unpadded = s.trim_end_matches('=');
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(unpadded)
            })
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(s))
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let key = v.get("k")?.as_str()?.to_owned();
        let c = v.get("c")?;
        let c = c.as_i64().or_else(|| {
            c.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                .map(|f| f as i64)
        })?;
        let created_at_us = if (0..MILLIS_BELOW).contains(&c) {
            c.checked_mul(1000)?
        } else {
            c
        };
        Some(Self { created_at_us, key })
    }
}

/// Appends `s` as a JSON string the way Python's `json.dumps(ensure_ascii=True)` does.
fn python_json_string(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_like_python() {
        // base64.urlsafe_b64encode(json.dumps({"c": 1777680000000000, "k": "acme"}).encode())
        let c = Cursor {
            created_at_us: 1_777_680_000_000_000,
            key: "acme".into(),
        };
        assert_eq!(
            c.encode(),
            URL_SAFE.encode(r#"{"c": 1777680000000000, "k": "acme"}"#)
        );
        let c = Cursor {
            created_at_us: 1,
            key: "é😀\"".into(),
        };
        assert_eq!(
            String::from_utf8(URL_SAFE.decode(c.encode()).unwrap()).unwrap(),
            r#"{"c": 1, "k": "\u00e9\ud83d\ude00\""}"#
        );
    }

    #[test]
    fn small_values_are_milliseconds() {
        let s = URL_SAFE.encode(r#"{"c": 1777680000000, "k": "a"}"#);
        assert_eq!(
            Cursor::decode(&s).unwrap().created_at_us,
            1_777_680_000_000_000
        );
    }

    #[test]
    fn junk_and_keyless_cursors_are_ignored() {
        assert_eq!(Cursor::decode("not base64!"), None);
        assert_eq!(Cursor::decode(&URL_SAFE.encode("[1]")), None);
        assert_eq!(Cursor::decode(&URL_SAFE.encode(r#"{"c": 5}"#)), None);
        assert_eq!(
            Cursor::decode(&URL_SAFE.encode(r#"{"c": "x", "k": "a"}"#)),
            None
        );
    }

    proptest! {
        #[test]
        fn round_trips(c in 1_000_000_000_000_000i64..i64::MAX, key in any::<String>()) {
            let cur = Cursor { created_at_us: c, key };
            let text = cur.encode();
            prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_=".contains(&b)));
            prop_assert_eq!(Cursor::decode(&text), Some(cur));
        }

        #[test]
        fn decoding_never_panics(s in any::<String>()) {
            let _ = Cursor::decode(&s);
        }
    }
}
