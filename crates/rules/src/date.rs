//! Dates and times as alerts write them — `Jan 6, 2026`, `08-01-26`, `19.01.2026, 18:47 Uhr`,
//! `4 de marzo de 2026`, `6 mai 2026 à 17 h 29`, `2026年7月9日 19:48` — with day-month against
//! month-day settled by which reading fits the email's own date, then by the sender's locale.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, NaiveTime};
use regex::Regex;

use crate::prefilter::Rule;
use crate::text::{Doc, floor_char};

/// One date written in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateMention {
    /// Byte offset in the (lower-cased) text.
    pub start: usize,
    pub end: usize,
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
}

/// Month names and abbreviations in the languages the rules read.
static MONTHS: LazyLock<HashMap<&'static str, u32>> = LazyLock::new(|| {
    let lists: &[&[&str]] = &[
        &[
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        &[
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ],
        &["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"],
        &[
            "janeiro",
            "fevereiro",
            "março",
            "abril",
            "maio",
            "junho",
            "julho",
            "agosto",
            "setembro",
            "outubro",
            "novembro",
            "dezembro",
        ],
        &["jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"],
        &[
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ],
        &["janv", "févr", "mars", "avr", "mai", "juin", "juil", "août", "sept", "oct", "nov", "déc"],
        &[
            "januar",
            "februar",
            "märz",
            "april",
            "mai",
            "juni",
            "juli",
            "august",
            "september",
            "oktober",
            "november",
            "dezember",
        ],
        &["jän", "feb", "mär", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "dez"],
        &[
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ],
        &["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
        &[
            "gennaio",
            "febbraio",
            "marzo",
            "aprile",
            "maggio",
            "giugno",
            "luglio",
            "agosto",
            "settembre",
            "ottobre",
            "novembre",
            "dicembre",
        ],
        &["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"],
        &["setiembre", "sept"],
    ];
    let mut map = HashMap::new();
    for list in lists {
        for (i, name) in list.iter().enumerate() {
            let month = if list.len() == 2 { 9 } else { i as u32 + 1 };
            map.entry(*name).or_insert(month);
        }
    }
    map
});

static MONTH_ALT: LazyLock<String> = LazyLock::new(|| {
    let mut names: Vec<&str> = MONTHS.keys().copied().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names.join("|")
});

static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    crate::text::regex(
        r"\b(\d{1,2})([./-])(\d{1,2})([./-])(\d{4}|\d{2})\b|\b(\d{4})([./-])(\d{1,2})[./-](\d{1,2})\b",
    )
});

static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    crate::text::regex(&format!(
        r"\b(\d{{1,2}})(?:st|nd|rd|th|er|º|\.)?(?:\s+de)?[\s.-]+({})\.?(?:\s+de)?[\s,.-]+(\d{{4}})\b",
        *MONTH_ALT
    ))
});

static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    crate::text::regex(&format!(r"\b({})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", *MONTH_ALT))
});

static CJK: LazyLock<Regex> =
    LazyLock::new(|| crate::text::regex(r"(\d{4})\s?年\s?(\d{1,2})\s?月\s?(\d{1,2})\s?日"));

static TIME_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    crate::text::regex(
        r"^(?:[,·|-]|\s|(?:at|um|à|às|a las|alle|om|h|kl\.?|le)\s)*(\d{1,2})(?::(\d{2})|\s?h\s?(\d{2}))(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?",
    )
});

/// Any month name; only its keywords are used (see [`month_words`]).
static MONTH_NAME: LazyLock<Rule> = LazyLock::new(|| Rule::new(&format!("(?:{})", *MONTH_ALT)));

/// Every rule of this module, for the keyword pass.
pub(crate) fn rules() -> Vec<&'static Rule> {
    vec![&*MONTH_NAME]
}

/// Whether a month name stands as a word somewhere in the email: not after a letter or digit,
/// and followed by `.`, `,`, `-` or a space. `DAY_MONTH` and `MONTH_DAY` match nowhere else, and
/// most mail writes its dates in digits, so this spares both scans.
pub(crate) fn month_words(doc: &Doc) -> bool {
    let Some(mut hits) = MONTH_NAME.keyword_hits(doc) else { return true };
    let bytes = doc.lower.as_bytes();
    hits.any(|name| {
        let word_before = name.start > 0 && is_word_byte(bytes[name.start - 1]);
        let next = doc.lower[name.end..].chars().next();
        !word_before && next.is_some_and(|c| matches!(c, '.' | ',' | '-') || c.is_whitespace())
    })
}

/// A word character of the rules' ASCII `\b`.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `text` has two separators (`.`, `/`, `-`) with one or two digits between them and a
/// digit on either side (`05/26/2026`, `2026-03-05`): `NUMERIC` matches nowhere else, and a byte
/// scan for it is much cheaper than the regex on mail without such a date.
fn numeric_dates(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let separator = |i: usize| bytes.get(i).is_some_and(|b| matches!(b, b'.' | b'/' | b'-'));
    memchr::memchr3_iter(b'.', b'/', b'-', bytes).any(|i| {
        i > 0
            && digit(i - 1)
            && digit(i + 1)
            && ((separator(i + 2) && digit(i + 3)) || (digit(i + 2) && separator(i + 3) && digit(i + 4)))
    })
}

/// How to read `a/b/yyyy` when both readings are valid dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    DayMonth,
    MonthDay,
}

/// [`find_with`] where month names may be anywhere.
#[cfg(test)]
pub(crate) fn find(lower: &str, reference: NaiveDate, order: Order) -> Vec<DateMention> {
    find_with(lower, reference, order, true)
}

/// Every date in `lower` (lower-cased text). `reference` is the email's local date: it resolves
/// two-digit years and, for numeric dates, the reading that is not in the future and nearest.
/// `month_words` says whether a month name can be there at all (see [`month_words`]).
pub(crate) fn find_with(
    lower: &str,
    reference: NaiveDate,
    order: Order,
    month_words: bool,
) -> Vec<DateMention> {
    let mut out = Vec::new();
    // The scans below are skipped where a cheap look shows they cannot match.
    let numeric_captures =
        NUMERIC.captures_iter(lower).take(if numeric_dates(lower) { usize::MAX } else { 0 });
    for caps in numeric_captures {
        let Some(whole) = caps.get(0) else { continue };
        let date = if let Some(year) = caps.get(6) {
            ymd(num(year.as_str()), num_u(&caps, 8), num_u(&caps, 9))
        } else {
            // `1-2-2026` must use one separator throughout.
            if caps.get(2).map(|m| m.as_str()) != caps.get(4).map(|m| m.as_str()) {
                continue;
            }
            let year = year_of(caps.get(5).map_or("", |m| m.as_str()), reference);
            numeric(num_u(&caps, 1), num_u(&caps, 3), year, reference, order)
        };
        push(&mut out, lower, whole.start(), whole.end(), date);
    }
    let textual = if month_words { usize::MAX } else { 0 };
    for caps in DAY_MONTH.captures_iter(lower).take(textual) {
        let Some(whole) = caps.get(0) else { continue };
        let month = caps.get(2).and_then(|m| MONTHS.get(m.as_str())).copied().unwrap_or(0);
        let date = ymd(num(caps.get(3).map_or("", |m| m.as_str())), month, num_u(&caps, 1));
        push(&mut out, lower, whole.start(), whole.end(), date);
    }
    for caps in MONTH_DAY.captures_iter(lower).take(textual) {
        let Some(whole) = caps.get(0) else { continue };
        let month = caps.get(1).and_then(|m| MONTHS.get(m.as_str())).copied().unwrap_or(0);
        let date = ymd(num(caps.get(3).map_or("", |m| m.as_str())), month, num_u(&caps, 2));
        push(&mut out, lower, whole.start(), whole.end(), date);
    }
    // `年` is in every CJK date; most mail has none.
    for caps in CJK.captures_iter(lower).take(if lower.contains('年') { usize::MAX } else { 0 }) {
        let Some(whole) = caps.get(0) else { continue };
        let date = ymd(num(caps.get(1).map_or("", |m| m.as_str())), num_u(&caps, 2), num_u(&caps, 3));
        push(&mut out, lower, whole.start(), whole.end(), date);
    }
    out.sort_by_key(|d| d.start);
    // A date inside a longer one (`21 june 2026` in `19-21 june 2026`) was found twice.
    out.dedup_by(|b, a| b.start < a.end);
    out
}

/// Reads a date at the very start of `text` in `a/b` or `a/b/yyyy` form (statement rows such as
/// `05/26  GREENLEAF MARKET  $112.37`), completing the year from `reference`.
pub(crate) fn leading_short_date(text: &str, reference: NaiveDate, order: Order) -> Option<NaiveDate> {
    static SHORT: LazyLock<Regex> =
        LazyLock::new(|| crate::text::regex(r"^(\d{1,2})([./-])(\d{1,2})(?:[./-](\d{4}|\d{2}))?\.?$"));
    let caps = SHORT.captures(text)?;
    let year = caps.get(4).map_or(reference.year(), |y| year_of(y.as_str(), reference));
    let date = numeric(num_u(&caps, 1), num_u(&caps, 3), year, reference, order)?;
    // Without a year, a date after the email belongs to last year.
    if caps.get(4).is_none() && date > reference + chrono::Days::new(1) {
        return date.with_year(date.year() - 1);
    }
    Some(date)
}

fn push(out: &mut Vec<DateMention>, lower: &str, start: usize, end: usize, date: Option<NaiveDate>) {
    let Some(date) = date else { return };
    let (time, end) = match time_after(&lower[end..]) {
        Some((time, len)) => (Some(time), end + len),
        None => (None, end),
    };
    out.push(DateMention { start, end, date, time });
}

fn time_after(rest: &str) -> Option<(NaiveTime, usize)> {
    let head = &rest[..floor_char(rest, rest.len().min(40))];
    // A time has a digit and `:` or `h`; most dates are not followed by one.
    if !head.bytes().any(|b| b.is_ascii_digit()) || !head.contains([':', 'h']) {
        return None;
    }
    let caps = TIME_AFTER.captures(head)?;
    let mut hour: u32 = caps.get(1)?.as_str().parse().ok()?;
    let minute: u32 = caps.get(2).or_else(|| caps.get(3))?.as_str().parse().ok()?;
    let second: u32 = caps.get(4).map_or(Some(0), |s| s.as_str().parse().ok())?;
    if let Some(meridiem) = caps.get(5) {
        let pm = meridiem.as_str().starts_with('p');
        if hour == 0 || hour > 12 {
            return None;
        }
        hour = match (pm, hour) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, h) => h,
        };
    }
    let time = NaiveTime::from_hms_opt(hour, minute, second)?;
    Some((time, caps.get(0)?.end()))
}

/// Both readings of `a/b/year`: the one that is not in the future wins; if both qualify, the
/// locale's order, unless that reading is weeks older than the other.
fn numeric(a: u32, b: u32, year: i32, reference: NaiveDate, order: Order) -> Option<NaiveDate> {
    let day_month = NaiveDate::from_ymd_opt(year, b, a);
    let month_day = NaiveDate::from_ymd_opt(year, a, b);
    let latest = reference + chrono::Days::new(1);
    let fits = |d: &Option<NaiveDate>| d.filter(|d| *d <= latest);
    match (fits(&day_month), fits(&month_day)) {
        (Some(dm), Some(md)) if dm != md => {
            let (preferred, other) = match order {
                Order::DayMonth => (dm, md),
                Order::MonthDay => (md, dm),
            };
            if (other - preferred).num_days() > 20 { Some(other) } else { Some(preferred) }
        }
        (Some(d), _) | (None, Some(d)) => Some(d),
        (None, None) => match order {
            Order::DayMonth => day_month.or(month_day),
            Order::MonthDay => month_day.or(day_month),
        },
    }
}

fn year_of(written: &str, reference: NaiveDate) -> i32 {
    let y = num(written);
    if written.len() == 2 { reference.year() / 100 * 100 + y } else { y }
}

fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

fn num(s: &str) -> i32 {
    s.parse().unwrap_or(0)
}

fn num_u(caps: &regex::Captures<'_>, i: usize) -> u32 {
    caps.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn first(text: &str, reference: NaiveDate, order: Order) -> Option<(NaiveDate, Option<String>)> {
        find(&text.to_lowercase(), reference, order)
            .first()
            .map(|m| (m.date, m.time.map(|t| t.format("%H:%M").to_string())))
    }

    #[test]
    fn formats_in_every_language() {
        let r = d(2026, 8, 10);
        let cases: &[(&str, Order, NaiveDate, Option<&str>)] = &[
            ("Date/time: Jan 6, 2026 at 8:12 AM PT", Order::MonthDay, d(2026, 1, 6), Some("08:12")),
            ("on 28-01-26 towards UPI", Order::DayMonth, d(2026, 1, 28), None),
            ("on 12-Jan-2026 by UPI", Order::DayMonth, d(2026, 1, 12), None),
            ("Datum der Zahlung: 19.01.2026, 18:47 Uhr", Order::DayMonth, d(2026, 1, 19), Some("18:47")),
            ("Fecha: 4 de marzo de 2026, 13:24 h", Order::DayMonth, d(2026, 3, 4), Some("13:24")),
            ("le 6 mai 2026 à 17 h 29 avec", Order::DayMonth, d(2026, 5, 6), Some("17:29")),
            ("Datum: 9 april 2026, 12:03", Order::DayMonth, d(2026, 4, 9), Some("12:03")),
            ("Data e ora: 18/07/2026 10:45", Order::DayMonth, d(2026, 7, 18), Some("10:45")),
            ("ご利用日時:2026年7月9日 19:48", Order::DayMonth, d(2026, 7, 9), Some("19:48")),
            ("Payment date: 02/10/2026", Order::MonthDay, d(2026, 2, 10), None),
            ("Dinank: 13-02-2026, 04:18 PM", Order::DayMonth, d(2026, 2, 13), Some("16:18")),
            ("Order placed: 17 Apr 2026, 12:41 am", Order::DayMonth, d(2026, 4, 17), Some("00:41")),
            ("Delivered Friday, April 24, 2026 at 7:49 PM", Order::MonthDay, d(2026, 4, 24), Some("19:49")),
            ("Data: 2026-03-05", Order::DayMonth, d(2026, 3, 5), None),
            ("il 3 agosto 2026 alle 09:15", Order::DayMonth, d(2026, 8, 3), Some("09:15")),
            ("em 5 de agosto de 2026", Order::DayMonth, d(2026, 8, 5), None),
        ];
        for (text, order, date, time) in cases {
            let got = first(text, r, *order);
            assert_eq!(got, Some((*date, time.map(str::to_owned))), "{text}");
        }
    }

    #[test]
    fn month_words_are_found_wherever_a_textual_date_is() {
        for text in [
            "Date/time: Jan 6, 2026 at 8:12 AM PT",
            "on 12-Jan-2026 by UPI",
            "Fecha: 4 de marzo de 2026",
            "le 6 mai 2026 à 17 h 29",
            "Delivered Friday, April 24, 2026",
            "am 3. März 2026",
            "x\u{2003}août 2026",
            "sept. 5, 2026",
        ] {
            let doc = Doc::new("", "", text);
            assert!(month_words(&doc), "{text}");
        }
        for text in ["Market summary 12/05/2026", "amount 12.50", "reset 5 2026", "marked 5 2026"] {
            let doc = Doc::new("", "", text);
            let any = DAY_MONTH.is_match(&doc.lower) || MONTH_DAY.is_match(&doc.lower);
            assert!(!any && !month_words(&doc), "{text}");
        }
    }

    #[test]
    fn numeric_dates_are_found_wherever_the_regex_matches() {
        for text in
            ["05/26/2026", "on 1-2-26 at", "2026-03-05", "19.01.2026, 18:47", "x 2026/3/5 y", "1.2.34"]
        {
            assert!(numeric_dates(text) && NUMERIC.is_match(text), "{text}");
        }
        for text in ["12.50 EUR", "call 1-555-0142", "v1.2", "a/b/c", "12.6 km", "1,234.56", "--", ""] {
            assert!(!numeric_dates(text), "{text}");
        }
    }

    proptest! {
        #[test]
        fn no_numeric_date_where_the_scan_sees_none(s in "[0-9./ a-]{0,30}") {
            prop_assert!(numeric_dates(&s) || !NUMERIC.is_match(&s), "{}", s);
        }
    }

    #[test]
    fn ambiguous_numeric_dates_follow_the_email_date() {
        // 07/08: a Mexican alert sent on 7 August is about 7 August, not 8 July.
        assert_eq!(first("07/08/2026", d(2026, 8, 7), Order::MonthDay).map(|x| x.0), Some(d(2026, 8, 7)));
        // 02/10: sent on 10 February, so not 2 October (the future).
        assert_eq!(first("02/10/2026", d(2026, 2, 10), Order::DayMonth).map(|x| x.0), Some(d(2026, 2, 10)));
        // Both in the past: the locale's reading, unless it is weeks older than the other one.
        assert_eq!(first("04/03/2026", d(2026, 5, 1), Order::MonthDay).map(|x| x.0), Some(d(2026, 4, 3)));
        assert_eq!(first("03/04/2026", d(2026, 5, 1), Order::DayMonth).map(|x| x.0), Some(d(2026, 4, 3)));
        assert_eq!(first("03/04/2026", d(2026, 5, 1), Order::MonthDay).map(|x| x.0), Some(d(2026, 4, 3)));
        assert_eq!(first("01/12/2026", d(2026, 12, 5), Order::MonthDay).map(|x| x.0), Some(d(2026, 12, 1)));
    }

    #[test]
    fn near_misses_are_not_dates() {
        for text in [
            "call 1-555-0142",
            "ref 2026-99-99",
            "12.6 km",
            "v1.2.3",
            "32/13/2026",
            "ref 600812447391",
            "1/2 price",
        ] {
            assert_eq!(first(text, d(2026, 1, 1), Order::DayMonth), None, "{text}");
        }
    }

    #[test]
    fn statement_rows_complete_the_year() {
        assert_eq!(leading_short_date("05/26", d(2026, 5, 27), Order::MonthDay), Some(d(2026, 5, 26)));
        assert_eq!(leading_short_date("28.12.", d(2026, 1, 2), Order::DayMonth), Some(d(2025, 12, 28)));
    }

    proptest! {
        #[test]
        fn written_dates_read_back(days in 0i64..20_000, style in 0usize..6) {
            let date = d(1990, 1, 1) + chrono::Days::new(days as u64);
            let reference = date + chrono::Days::new(3);
            let months_en = ["January","February","March","April","May","June","July","August","September","October","November","December"];
            let months_es = ["enero","febrero","marzo","abril","mayo","junio","julio","agosto","septiembre","octubre","noviembre","diciembre"];
            let (text, order) = match style {
                0 => (date.format("%d.%m.%Y").to_string(), Order::DayMonth),
                1 => (date.format("%m/%d/%Y").to_string(), Order::MonthDay),
                2 => (date.format("%Y-%m-%d").to_string(), Order::DayMonth),
                3 => (format!("{} {}, {}", months_en[date.month0() as usize], date.day(), date.year()), Order::MonthDay),
                4 => (format!("{} de {} de {}", date.day(), months_es[date.month0() as usize], date.year()), Order::DayMonth),
                _ => (format!("{}年{}月{}日", date.year(), date.month(), date.day()), Order::DayMonth),
            };
            let found = find(&text.to_lowercase(), reference, order);
            prop_assert_eq!(found.first().map(|m| m.date), Some(date), "{}", text);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,60}") {
            let _ = find(&s.to_lowercase(), d(2026, 1, 1), Order::DayMonth);
            let _ = leading_short_date(&s, d(2026, 1, 1), Order::MonthDay);
        }
    }
}
