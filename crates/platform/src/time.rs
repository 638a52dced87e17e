//! Timestamps and dates as the API takes them.
//!
//! A transaction's `occurred_at` is RFC 3339, or a `YYYY-MM-DD` date stored at 12:00 UTC so the
//! date reads the same from UTC−11 to UTC+11. Range bounds (`from`, `to`) are RFC 3339 or a date
//! meaning the start of that day in UTC, or in the request's `tz`.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
pub use chrono_tz::Tz;

/// The earliest and latest years a transaction may carry.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// Parses a transaction's `occurred_at`.
pub fn parse_occurred_at(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    let at = if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default();
        Utc.from_utc_datetime(&date.and_time(noon))
    } else if looks_like_date(text) {
        return Err(format!("`{}` is not a real date", clip(text)));
    } else {
        DateTime::parse_from_rfc3339(text)
            .map_err(|_| format!("`{}` is neither an RFC 3339 timestamp nor a YYYY-MM-DD date", clip(text)))?
            .with_timezone(&Utc)
    };
    if !YEARS.contains(&at.year()) {
        return Err(format!("the year must be between {} and {}", YEARS.start(), YEARS.end()));
    }
    Ok(at)
}

/// Parses a range bound: RFC 3339, or a date meaning the start of that day in `tz`.
pub fn parse_bound(text: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(start_of_day(date, tz));
    }
    if looks_like_date(text) {
        return Err(format!("`{}` is not a real date", clip(text)));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| format!("`{}` is neither an RFC 3339 timestamp nor a YYYY-MM-DD date", clip(text)))
}

/// Parses an IANA time zone name (`Europe/Paris`); UTC when absent.
pub fn parse_tz(text: Option<&str>) -> Result<Tz, String> {
    match text.map(str::trim) {
        None | Some("") => Ok(Tz::UTC),
        Some(name) => name.parse::<Tz>().map_err(|_| format!("`{}` is not an IANA time zone", clip(name))),
    }
}

/// The first instant of `date` in `tz` (midnight, or the first valid time after a gap).
pub fn start_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = NaiveDateTime::new(date, NaiveTime::MIN);
    // Some zones skip midnight on DST days; step forward until the local time exists.
    (0..=24 * 4)
        .map(|quarter| midnight + chrono::Duration::minutes(15 * quarter))
        .find_map(|local| tz.from_local_datetime(&local).earliest())
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// `2026-02-30` has a date's shape but is not one.
fn looks_like_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-'
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_stored_at_noon_utc() {
        let at = parse_occurred_at("2026-03-01").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-03-01T12:00:00+00:00");
        let at = parse_occurred_at("2026-03-01T23:30:00-05:00").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-03-02T04:30:00+00:00");
    }

    #[test]
    fn impossible_dates_are_refused() {
        for bad in
            ["2026-02-30", "2026-13-01", "2025-02-29", "yesterday", "2026-01-01T25:00:00Z", "0001-01-01", ""]
        {
            assert!(parse_occurred_at(bad).is_err(), "{bad:?}");
        }
        assert!(parse_occurred_at("2024-02-29").is_ok());
    }

    #[test]
    fn range_bounds_start_the_day_in_the_zone() {
        let paris = parse_tz(Some("Europe/Paris")).unwrap();
        let at = parse_bound("2026-07-01", paris).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-06-30T22:00:00+00:00");
        assert_eq!(parse_bound("2026-07-01", Tz::UTC).unwrap().to_rfc3339(), "2026-07-01T00:00:00+00:00");
        assert!(parse_tz(Some("Mars/Olympus")).is_err());
        assert!(parse_bound("2026-02-30", Tz::UTC).is_err());
    }
}
