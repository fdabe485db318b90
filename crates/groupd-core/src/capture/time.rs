//! "Time": which instant an event happened at, as far as groupd believes the client. A client
//! clock may be off; `sent_at` (when the SDK flushed) measures by how much, and an event more than
//! 23 hours in the future is taken to have happened when it was received.

use super::CaptureEvent;
use crate::time_fmt::parse_rfc3339_us;

/// How far in the future (µs) a computed timestamp may lie before `received_at` replaces it.
pub const MAX_FUTURE_US: i64 = 23 * 3600 * 1_000_000;

/// How the client dated one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Dated {
    /// `timestamp`, parsed, and whether `$ignore_sent_at` turns skew correction off.
    Timestamp { at_us: i64, ignore_sent_at: bool },
    /// No timestamp but an `offset`: milliseconds before the request was received.
    Offset { ms: f64 },
    /// Neither: the event happened when it was received.
    Undated,
}

/// The event time: a timestamp is corrected by the client's clock skew (`received_at - sent_at`)
/// unless the batch has no `sent_at` or the event ignores it; an offset counts back from
/// `received_at`; anything more than [`MAX_FUTURE_US`] ahead of `received_at` becomes
/// `received_at`.
pub(super) fn event_time_us(dated: Dated, sent_at_us: Option<i64>, received_at_us: i64) -> i64 {
    let t = match dated {
        Dated::Timestamp {
            at_us,
            ignore_sent_at,
        } => match sent_at_us {
            Some(sent) if !ignore_sent_at => {
                received_at_us.saturating_add(at_us.saturating_sub(sent))
            }
            _ => at_us,
        },
        // `as` saturates; offsets beyond ±292k years end up capped below anyway.
        Dated::Offset { ms } => received_at_us.saturating_sub((ms * 1000.0) as i64),
        Dated::Undated => received_at_us,
    };
    if t > received_at_us.saturating_add(MAX_FUTURE_US) {
        received_at_us
    } else {
        t
    }
}

/// The time the merge rules use for an event: [`CaptureEvent::merge_time_us`].
pub fn merge_time_us(ev: &CaptureEvent) -> i64 {
    ev.merge_time_us()
}

/// RFC 3339 as SDKs send it (`Z` or an offset, any fraction), also tolerating a space for the
/// `T` and a missing offset (read as UTC), which some older SDKs send.
pub fn parse_time_us(s: &str) -> Option<i64> {
    if let Some(us) = parse_rfc3339_us(s) {
        return Some(us);
    }
    let s = s.trim();
    if s.len() < 19 || !s.is_ascii() {
        return None;
    }
    let mut fixed = String::with_capacity(s.len() + 1);
    fixed.push_str(&s[..10]);
    fixed.push('T');
    fixed.push_str(&s[11..]);
    let tail = &fixed[19..];
    if !tail.contains(['Z', 'z', '+', '-']) {
        fixed.push('Z');
    }
    parse_rfc3339_us(&fixed)
}
