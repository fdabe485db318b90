//! Wire format of times: RFC 3339, UTC, `Z`, fractional seconds only when non-zero (µs precision).
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// Renders µs since the epoch as `2026-05-02T10:01:02Z` or `2026-05-02T10:01:02.123456Z`.
pub fn format_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let Ok(dt) = OffsetDateTime::from_unix_timestamp(secs) else {
        return "1970-01-01T00:00:00Z".to_owned();
    };
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if micros == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{micros:06}Z")
    }
}

/// Parses an RFC 3339 time (any offset) into µs since the epoch.
pub fn parse_rfc3339_us(s: &str) -> Option<i64> {
    let dt = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    i64::try_from(dt.unix_timestamp_nanos() / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_have_no_fraction() {
        assert_eq!(format_us(1_777_680_062_000_000), "2026-05-02T00:01:02Z");
    }

    #[test]
    fn fractions_keep_six_digits() {
        assert_eq!(
            format_us(1_777_680_062_123_400),
            "2026-05-02T00:01:02.123400Z"
        );
    }

    #[test]
    fn parse_round_trips() {
        let us = 1_777_680_062_123_456;
        assert_eq!(parse_rfc3339_us(&format_us(us)), Some(us));
        assert_eq!(
            parse_rfc3339_us("2026-05-02T02:01:02.123456+02:00"),
            Some(us)
        );
    }
}
