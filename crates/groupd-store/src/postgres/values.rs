//! Values across the PostgreSQL wire: exact TIMESTAMPTZ microseconds, text PostgreSQL can hold
//! (no NUL), literal `LIKE` patterns, group type indexes as `INT`.
use std::borrow::Cow;

use bytes::BytesMut;
use groupd_core::GroupTypeIndex;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
pub(super) const PG_EPOCH_US: i64 = 946_684_800_000_000;

/// A TIMESTAMPTZ as microseconds since the Unix epoch, converted exactly (binary protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ts(pub i64);

impl<'a> FromSql<'a> for Ts {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let b: [u8; 8] = raw.try_into()?;
        Ok(Ts(i64::from_be_bytes(b).saturating_add(PG_EPOCH_US)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP
    }
}

impl ToSql for Ts {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0.saturating_sub(PG_EPOCH_US).to_be_bytes());
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP
    }
    to_sql_checked!();
}

/// PostgreSQL text cannot hold NUL: it becomes U+FFFD (the same on write and on lookup).
pub(crate) fn nul_safe(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// JSON text JSONB accepts: a `\u0000` escape (JSONB cannot hold NUL) becomes `\ufffd`.
pub(crate) fn jsonb_safe(json: &str) -> Cow<'_, str> {
    let json = nul_safe(json);
    if !json.contains("\\u0000") {
        return json;
    }
    let mut out = String::with_capacity(json.len());
    let mut rest: &str = &json;
    // Outside strings JSON has no backslash; inside, each backslash starts a two-character
    // escape (or a six-character `\uXXXX`), so scanning escape by escape is exact.
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let esc = &rest[i..];
        if let Some(after) = esc.strip_prefix("\\u0000") {
            out.push_str("\\ufffd");
            rest = after;
        } else {
            let n = esc[1..].chars().next().map_or(1, |c| 1 + c.len_utf8());
            out.push_str(&esc[..n]);
            rest = &esc[n..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A `LIKE` pattern matching `needle` anywhere (`%`, `_` and `\` literal).
pub(super) fn contains_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in nul_safe(needle).chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A driver error in words: the server's message, or the error with its cause.
pub(super) fn pg_message(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_owned();
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// The index as the `INT` column holds it; `None` for one no column can hold (and so no type has:
/// the caller answers as for any missing type).
pub(super) fn pg_index(index: GroupTypeIndex) -> Option<i32> {
    i32::try_from(index.0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_text_loses_only_nul_escapes() {
        assert_eq!(jsonb_safe(r#"{"a":"x\u0000y"}"#), r#"{"a":"x\ufffdy"}"#);
        assert_eq!(jsonb_safe(r#"{"a":"x\\u0000y"}"#), r#"{"a":"x\\u0000y"}"#);
        assert_eq!(jsonb_safe(r#"{"a":"\\\u0000"}"#), r#"{"a":"\\\ufffd"}"#);
        assert_eq!(jsonb_safe(r#"{"é":"\"ü"}"#), r#"{"é":"\"ü"}"#);
    }

    #[test]
    fn like_patterns_are_literal() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn indexes_beyond_int_are_none() {
        assert_eq!(pg_index(GroupTypeIndex(3)), Some(3));
        assert_eq!(pg_index(GroupTypeIndex(1 << 40)), None);
    }
}
