//! Numbers as banks write them: `1,234.56`, `1.234,56`, `1'234.56`, `1 234,56`, `1,23,456.78`,
//! `12,800` (grouping only), `1,250` for a three-decimal currency.

use rust_decimal::Decimal;

/// Parses a written number into an exact decimal. `minor` is the currency's number of decimal
/// places when known: it settles whether a lone separator followed by three digits groups
/// thousands (`12,800` yen) or marks decimals (`1.250` Kuwaiti dinars). Returns `None` for
/// anything that is not one well-formed number.
pub fn parse_number(written: &str, minor: Option<u32>) -> Option<Decimal> {
    let written = written.trim();
    if written.is_empty() || !written.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if !written.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let seps: Vec<(usize, char)> = written.char_indices().filter(|(_, c)| !c.is_ascii_digit()).collect();
    if seps.iter().any(|(_, c)| !matches!(c, '.' | ',' | '\'' | ' ')) {
        return None;
    }
    // Two separators in a row (`1,,2`, `1. 2`) are not a number.
    if seps.windows(2).any(|w| w[1].0 == w[0].0 + 1) {
        return None;
    }
    let decimal_at = decimal_separator(written, &seps, minor);
    let (int, frac) = match decimal_at {
        Some(at) => (&written[..at], &written[at + 1..]),
        None => (written, ""),
    };
    if !valid_grouping(int) {
        return None;
    }
    let mut plain: String = int.chars().filter(char::is_ascii_digit).collect();
    if !frac.is_empty() {
        plain.push('.');
        plain.push_str(frac);
    }
    if plain.len() > 26 {
        return None;
    }
    plain.parse::<Decimal>().ok()
}

/// Where the decimal separator is, if there is one.
fn decimal_separator(written: &str, seps: &[(usize, char)], minor: Option<u32>) -> Option<usize> {
    let &(last_at, last) = seps.last()?;
    if !matches!(last, '.' | ',') {
        return None;
    }
    let digits_after = written.len() - last_at - 1;
    let other_mark = if last == '.' { ',' } else { '.' };
    let earlier = &seps[..seps.len() - 1];
    if earlier.iter().any(|(_, c)| *c == other_mark) {
        // `1.234,56` / `1,234.56`: the last mark is the decimal one.
        return Some(last_at);
    }
    if earlier.iter().any(|(_, c)| *c == last) {
        // `1,234,567`: the same mark repeated only groups.
        return None;
    }
    match digits_after {
        3 if minor == Some(3) && earlier.is_empty() => Some(last_at),
        3 if minor == Some(0) => None,
        // A lone mark before three digits groups thousands in every locale (`12,800`, `1.500`);
        // apostrophes or spaces before it make it the decimal mark of a grouped number only when
        // fewer than three digits follow, which is the next arm.
        3 => None,
        _ => Some(last_at),
    }
}

/// The integer part's grouping: Western groups of three, or Indian lakh/crore groups of two
/// before the last three, all with one kind of separator.
fn valid_grouping(int: &str) -> bool {
    let groups: Vec<&str> = int.split(['.', ',', '\'', ' ']).collect();
    if groups.len() == 1 {
        return !groups[0].is_empty();
    }
    let mut marks = int.chars().filter(|c| !c.is_ascii_digit());
    let first_mark = marks.next();
    if marks.any(|c| Some(c) != first_mark) {
        return false;
    }
    let (head, rest) = (groups[0], &groups[1..]);
    if head.is_empty() || head.len() > 3 {
        return false;
    }
    if rest.iter().all(|g| g.len() == 3) {
        return true;
    }
    // Indian: 1,23,456 and 12,34,56,789.
    first_mark == Some(',')
        && head.len() <= 2
        && rest.last().is_some_and(|g| g.len() == 3)
        && rest[..rest.len() - 1].iter().all(|g| g.len() == 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    #[test]
    fn number_styles() {
        let cases = [
            ("1,234.56", None, "1234.56"),
            ("1.234,56", None, "1234.56"),
            ("1'234.56", None, "1234.56"),
            ("1 234,56", None, "1234.56"),
            ("1,23,456.78", None, "123456.78"),
            ("12,34,56,789", None, "123456789"),
            ("12,800", Some(0), "12800"),
            ("12,800", None, "12800"),
            ("1.500", Some(2), "1500"),
            ("1.250", Some(3), "1.250"),
            ("45,90", Some(2), "45.90"),
            ("6.75", None, "6.75"),
            ("186", None, "186"),
            ("1,299", Some(2), "1299"),
            ("1 523,10", None, "1523.10"),
            ("2 000", None, "2000"),
            ("0.5", None, "0.5"),
            ("152.3190", None, "152.3190"),
        ];
        for (written, minor, expected) in cases {
            assert_eq!(parse_number(written, minor), Some(d(expected)), "{written}");
        }
    }

    #[test]
    fn near_misses_are_not_numbers() {
        for bad in [
            "",
            "1,2,3",
            "1.234.56,7.8",
            "1,,2",
            "1. 234",
            "1,234,56",
            "12 34",
            "1'23",
            "abc",
            ",5",
            "5,",
            "1,234.567.890",
            "1,23,4567",
            "1 234.567,89.1",
        ] {
            assert_eq!(parse_number(bad, Some(2)), None, "{bad:?}");
        }
    }

    fn group(int: u64, mark: &str) -> String {
        let digits = int.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(mark);
            }
            out.push(c);
        }
        out
    }

    proptest! {
        #[test]
        fn any_grouped_amount_round_trips(int in 0u64..10_000_000_000, cents in 0u32..100, style in 0usize..5) {
            let (thousands, decimal) = [(",", "."), (".", ","), ("'", "."), (" ", ","), ("", ".")][style];
            let written = format!("{}{decimal}{cents:02}", group(int, thousands));
            let expected = Decimal::from(int) + Decimal::new(i64::from(cents), 2);
            prop_assert_eq!(parse_number(&written, Some(2)), Some(expected));
        }

        #[test]
        fn indian_grouping_round_trips(int in 1_000u64..10_000_000_000, paise in 0u32..100) {
            let digits = int.to_string();
            let (head, last3) = digits.split_at(digits.len() - 3);
            let mut pairs = Vec::new();
            let mut rest = head;
            while rest.len() > 2 {
                let (a, b) = rest.split_at(rest.len() - 2);
                pairs.push(b);
                rest = a;
            }
            pairs.push(rest);
            pairs.reverse();
            let written = format!("{},{last3}.{paise:02}", pairs.join(","));
            let expected = Decimal::from(int) + Decimal::new(i64::from(paise), 2);
            prop_assert_eq!(parse_number(&written, Some(2)), Some(expected));
        }

        #[test]
        fn whole_yen_round_trip(int in 1u64..10_000_000_000) {
            prop_assert_eq!(parse_number(&group(int, ","), Some(0)), Some(Decimal::from(int)));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
            let _ = parse_number(&s, None);
            let _ = parse_number(&s, Some(3));
        }
    }
}
