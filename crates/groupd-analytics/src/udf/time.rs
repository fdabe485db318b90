//! ClickHouse's calendar functions over UTC microseconds (all calendar math is in UTC).
use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, Timelike, Utc};

pub const US_PER_SEC: i64 = 1_000_000;
pub const US_PER_DAY: i64 = 86_400 * US_PER_SEC;

/// A calendar unit, as ClickHouse spells them in `dateDiff`, `dateTrunc`, `INTERVAL`, `toStartOf…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    /// `'day'`, `'days'`, `DAY`, `dd`… (case-insensitive).
    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s.trim().to_ascii_lowercase().trim_end_matches('s') {
            "second" | "ss" | "s" => Unit::Second,
            "minute" | "mi" | "n" => Unit::Minute,
            "hour" | "hh" | "h" => Unit::Hour,
            "day" | "dd" | "d" => Unit::Day,
            "week" | "wk" | "ww" => Unit::Week,
            "month" | "mm" | "m" => Unit::Month,
            "quarter" | "qq" | "q" => Unit::Quarter,
            "year" | "yyyy" | "yy" => Unit::Year,
            _ => return None,
        })
    }

    /// The length of the unit in µs, for the units of a fixed length (second to day).
    pub fn fixed_us(self) -> Option<i64> {
        Some(match self {
            Unit::Second => US_PER_SEC,
            Unit::Minute => 60 * US_PER_SEC,
            Unit::Hour => 3600 * US_PER_SEC,
            Unit::Day => US_PER_DAY,
            _ => return None,
        })
    }

    /// The length of the unit in months, for the calendar units (month to year).
    pub fn months(self) -> Option<i64> {
        Some(match self {
            Unit::Month => 1,
            Unit::Quarter => 3,
            Unit::Year => 12,
            _ => return None,
        })
    }

    /// Whether `toStartOf<Unit>` gives a Date (ClickHouse) rather than a DateTime.
    pub fn start_is_date(self) -> bool {
        matches!(self, Unit::Week | Unit::Month | Unit::Quarter | Unit::Year)
    }
}

fn dt(us: i64) -> Option<NaiveDateTime> {
    DateTime::<Utc>::from_timestamp_micros(us).map(|d| d.naive_utc())
}

fn us_of(d: NaiveDateTime) -> i64 {
    d.and_utc().timestamp_micros()
}

/// The day number of a time (days since 1970-01-01, rounded down).
pub fn day_of(us: i64) -> i64 {
    us.div_euclid(US_PER_DAY)
}

/// The Sunday on or before day `d` (day numbers; 1970-01-01 was a Thursday).
pub fn sunday_of(d: i64) -> i64 {
    d - (d + 4).rem_euclid(7)
}

/// The Monday on or before day `d`.
pub fn monday_of(d: i64) -> i64 {
    d - (d + 3).rem_euclid(7)
}

fn date_us(d: NaiveDate) -> i64 {
    us_of(d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// Start of the period holding `us`; weeks start on Sunday (ClickHouse's mode 0).
pub fn start_of(unit: Unit, us: i64) -> Option<i64> {
    Some(match unit {
        Unit::Second | Unit::Minute | Unit::Hour | Unit::Day => {
            let len = unit.fixed_us()?;
            us - us.rem_euclid(len)
        }
        Unit::Week => sunday_of(day_of(us)) * US_PER_DAY,
        Unit::Month | Unit::Quarter | Unit::Year => {
            let d = dt(us)?.date();
            let month = match unit {
                Unit::Month => d.month(),
                Unit::Quarter => (d.month() - 1) / 3 * 3 + 1,
                _ => 1,
            };
            date_us(NaiveDate::from_ymd_opt(d.year(), month, 1)?)
        }
    })
}

/// Monday-based week start (`toMonday`, `dateTrunc('week')`).
pub fn start_of_iso_week(us: i64) -> i64 {
    monday_of(day_of(us)) * US_PER_DAY
}

/// `toStartOfInterval(t, INTERVAL n unit)`: periods counted from the epoch (weeks from Monday
/// 1970-01-05, as ClickHouse does).
pub fn start_of_interval(us: i64, n: i64, unit: Unit) -> Option<i64> {
    if n <= 0 {
        return None;
    }
    match unit {
        Unit::Second | Unit::Minute | Unit::Hour | Unit::Day => {
            Some(us - us.rem_euclid(unit.fixed_us()?.checked_mul(n)?))
        }
        Unit::Week => {
            let monday = start_of_iso_week(us) / US_PER_DAY;
            let weeks = (monday - 4).div_euclid(7);
            Some((4 + weeks.div_euclid(n) * n * 7) * US_PER_DAY)
        }
        Unit::Month | Unit::Quarter | Unit::Year => {
            let per = unit.months()?.checked_mul(n)?;
            let d = dt(us)?.date();
            let months = i64::from(d.year() - 1970) * 12 + i64::from(d.month0());
            let start = months.div_euclid(per) * per;
            let y = 1970 + start.div_euclid(12);
            let m = start.rem_euclid(12) + 1;
            date_us(NaiveDate::from_ymd_opt(
                i32::try_from(y).ok()?,
                m as u32,
                1,
            )?)
            .into()
        }
    }
}

/// Adds `n` units (negative subtracts); months clamp to the month's last day.
pub fn add(us: i64, n: i64, unit: Unit) -> Option<i64> {
    let fixed = |len: i64| us.checked_add(n.checked_mul(len)?);
    match unit {
        Unit::Second | Unit::Minute | Unit::Hour | Unit::Day => fixed(unit.fixed_us()?),
        Unit::Week => fixed(7 * US_PER_DAY),
        Unit::Month | Unit::Quarter | Unit::Year => {
            let months = n.checked_mul(unit.months()?)?;
            let d = dt(us)?;
            let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
            let r = if months >= 0 {
                d.checked_add_months(m)
            } else {
                d.checked_sub_months(m)
            }?;
            Some(us_of(r))
        }
    }
}

/// `dateDiff(unit, a, b)`: unit boundaries crossed from `a` to `b` (ClickHouse's rule; weeks
/// start on Monday).
pub fn diff(unit: Unit, a: i64, b: i64) -> Option<i64> {
    let months = |us: i64| dt(us).map(|d| i64::from(d.year()) * 12 + i64::from(d.month0()));
    Some(match unit {
        Unit::Second | Unit::Minute | Unit::Hour | Unit::Day => {
            let len = unit.fixed_us()?;
            b.div_euclid(len) - a.div_euclid(len)
        }
        Unit::Week => (start_of_iso_week(b) - start_of_iso_week(a)) / (7 * US_PER_DAY),
        Unit::Month => months(b)? - months(a)?,
        Unit::Quarter => months(b)?.div_euclid(3) - months(a)?.div_euclid(3),
        Unit::Year => i64::from(dt(b)?.year() - dt(a)?.year()),
    })
}

/// A part of a time, as the `toHour`… family reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Second,
    Minute,
    Hour,
    DayOfWeek,
    DayOfMonth,
    DayOfYear,
    Month,
    Quarter,
    Year,
    YyyyMm,
    YyyyMmDd,
    UnixTimestamp,
    IsoWeek,
}

pub fn part(p: Part, us: i64) -> Option<i64> {
    let d = dt(us)?;
    Some(match p {
        Part::Second => i64::from(d.second()),
        Part::Minute => i64::from(d.minute()),
        Part::Hour => i64::from(d.hour()),
        Part::DayOfWeek => i64::from(d.weekday().number_from_monday()),
        Part::DayOfMonth => i64::from(d.day()),
        Part::DayOfYear => i64::from(d.ordinal()),
        Part::Month => i64::from(d.month()),
        Part::Quarter => i64::from(d.month0() / 3 + 1),
        Part::Year => i64::from(d.year()),
        Part::YyyyMm => i64::from(d.year()) * 100 + i64::from(d.month()),
        Part::YyyyMmDd => {
            i64::from(d.year()) * 10_000 + i64::from(d.month()) * 100 + i64::from(d.day())
        }
        Part::UnixTimestamp => us.div_euclid(US_PER_SEC),
        Part::IsoWeek => i64::from(d.iso_week().week()),
    })
}

/// ClickHouse's `toString` of a DateTime64(6): `YYYY-MM-DD HH:MM:SS.ffffff`.
pub fn clickhouse_text(us: i64) -> Option<String> {
    Some(dt(us)?.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
}

/// `formatDateTime(t, fmt)` with ClickHouse's MySQL-style specifiers.
pub fn format(us: i64, fmt: &str) -> Option<String> {
    let d = dt(us)?;
    let mut out = String::new();
    let mut it = fmt.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let spec = match it.next()? {
            'Y' => "%Y",
            'y' => "%y",
            'm' => "%m",
            'd' => "%d",
            'e' => "%e",
            'H' => "%H",
            'I' => "%I",
            'i' | 'M' => "%M",
            'S' | 's' => "%S",
            'p' => "%p",
            'F' => "%Y-%m-%d",
            'T' => "%H:%M:%S",
            'D' => "%m/%d/%y",
            'j' => "%j",
            'a' => "%a",
            'b' => "%b",
            'B' => "%B",
            'u' => "%u",
            'V' => "%V",
            'w' => "%w",
            'R' => "%H:%M",
            'f' => "%6f",
            '%' => "%%",
            _ => return None,
        };
        out.push_str(&d.format(spec).to_string());
    }
    Some(out)
}

/// A date/time text as ClickHouse's `parseDateTimeBestEffort` or a comparison reads it:
/// RFC 3339, `YYYY-MM-DD[ T]HH:MM:SS[.f]`, or a bare date; no offset means UTC.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_micros());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(us_of(d));
        }
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%#z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.timestamp_micros());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(date_us(d));
    }
    None
}

/// Microseconds of a day number.
pub fn days_to_us(days: i32) -> i64 {
    i64::from(days) * US_PER_DAY
}

/// The day number of a time.
pub fn us_to_days(us: i64) -> Option<i32> {
    i32::try_from(day_of(us)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> i64 {
        parse(s).unwrap()
    }

    #[test]
    fn calendar_math_matches_clickhouse() {
        // 2026-05-06 is a Wednesday.
        let w = t("2026-05-06 13:45:10");
        assert_eq!(start_of(Unit::Week, w), Some(t("2026-05-03")));
        assert_eq!(start_of_iso_week(w), t("2026-05-04"));
        assert_eq!(start_of(Unit::Quarter, w), Some(t("2026-04-01")));
        assert_eq!(part(Part::DayOfWeek, w), Some(3));
        assert_eq!(
            diff(
                Unit::Day,
                t("2026-05-01 23:59:59"),
                t("2026-05-02 00:00:01")
            ),
            Some(1)
        );
        assert_eq!(diff(Unit::Month, t("2026-01-31"), t("2026-03-01")), Some(2));
        assert_eq!(add(t("2026-01-31"), 1, Unit::Month), Some(t("2026-02-28")));
        assert_eq!(
            start_of_interval(w, 15, Unit::Minute),
            Some(t("2026-05-06 13:45:00"))
        );
        assert_eq!(format(w, "%Y-%m-%d %H:%i"), Some("2026-05-06 13:45".into()));
        assert_eq!(t("2026-05-06T13:45:10+02:00"), t("2026-05-06 11:45:10"));
    }
}
