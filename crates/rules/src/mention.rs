//! Money mentions: a currency mark next to a well-formed number, wherever it is in the text.

use std::sync::LazyLock;

use penny_contract::{Currency, Money};
use regex::Regex;

use crate::amount::parse_number;
use crate::currency::CurrencyCues;
use crate::text::floor_char;

/// One amount written in the email.
#[derive(Debug, Clone)]
pub(crate) struct Mention {
    /// Byte range of the whole mention (mark and number) in `Doc::text`.
    pub start: usize,
    pub end: usize,
    pub money: Money,
    /// Written with a minus sign: a discount or promotion line.
    pub negative: bool,
}

const NUMBER: &str = r"\d(?:[\d.,' ]*\d)?";
const PREFIX_MARKS: &str = r"US\$|U\$S|AU\$|A\$|CA\$|C\$|SG\$|S\$|NZ\$|HK\$|MX\$|R\$|\$|€|£|₹|¥|₩|₽|₺|₱|₫|฿|₪|\bRs\.?|\bRM|\bRp|\bkr\.?|\bFr\.|\bzł|\b[A-Z]{3}\b";
const SUFFIX_MARKS: &str = r"€|£|円|元|₹|\$|₩|원|₽|₺|₫|฿|₪|\bkr\b\.?|zł|Kč|\bFt\b|\b[A-Z]{3}\b|\([A-Z]{3}\)";

static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    crate::text::regex(&format!(
        r"(?P<neg>[-] ?)?(?:(?P<pre>{PREFIX_MARKS}) ?(?P<num1>{NUMBER})(?: ?(?P<post1>\b[A-Z]{{3}}\b|\([A-Z]{{3}}\)))?|(?P<num2>{NUMBER}) ?(?P<post2>{SUFFIX_MARKS}))"
    ))
});

/// The groups of `MONEY` by index, in the order the pattern opens them (a test checks): a named
/// look-up hashes the name on every call.
const NEG: usize = 1;
const PRE: usize = 2;
const NUM1: usize = 3;
const POST1: usize = 4;
const NUM2: usize = 5;
const POST2: usize = 6;

/// The most bytes a mention can have before its first digit: a minus and a space, the longest
/// mark (three bytes: `US$`, `€`, `Rs.`) and a space.
const MARK_BYTES: usize = 6;

/// The most mentions read from one email.
const MAX_MENTIONS: usize = 200;

/// Every money mention in `text`, in order. A number whose mark does not resolve to a currency,
/// or whose decimals exceed the currency's minor unit, is not money.
pub(crate) fn find(text: &str, cues: &CurrencyCues) -> Vec<Mention> {
    let mut out = Vec::new();
    let mut at = 0;
    // No alert or receipt states hundreds of amounts; a cap keeps hostile input linear.
    while at < text.len() && out.len() < MAX_MENTIONS {
        // Every mention has a digit, at most `MARK_BYTES` after where it starts: the regex need
        // not scan the text before the next digit.
        let Some(digit) = text.as_bytes()[at..].iter().position(u8::is_ascii_digit) else { break };
        let from = floor_char(text, (at + digit).saturating_sub(MARK_BYTES).max(at));
        let Some(caps) = MONEY.captures_at(text, from) else { break };
        let Some(whole) = caps.get(0) else { break };
        let (num, marks) = match (caps.get(NUM1), caps.get(NUM2)) {
            (Some(n), _) => (n, [caps.get(PRE), caps.get(POST1)]),
            (None, Some(n)) => (n, [caps.get(POST2), None]),
            _ => break,
        };
        // `… ending 4821 $6.75`: a trailing `$` that starts the next amount is not this one's.
        if let Some(post) = caps.get(POST2)
            && post.as_str() == "$"
            && text[post.end()..].trim_start_matches(' ').starts_with(|c: char| c.is_ascii_digit())
        {
            at = post.start();
            continue;
        }
        at = whole.end().max(at + 1);
        let currency = marks.iter().flatten().rev().find_map(|m| cues.resolve(m.as_str()));
        let Some(currency) = currency else { continue };
        if let Some(mention) = build(text, num.as_str(), num.start(), currency, &caps, whole) {
            out.push(mention);
        }
    }
    out
}

fn build(
    text: &str,
    written: &str,
    num_start: usize,
    currency: Currency,
    caps: &regex::Captures<'_>,
    whole: regex::Match<'_>,
) -> Option<Mention> {
    let minor = Some(currency.minor_digits());
    let mut amount = parse_number(written, minor);
    let mut start = whole.start();
    if amount.is_none() && written.contains(' ') {
        // Spaces joined a neighbouring number (`Qty 2 12,50 €`); keep the part next to the mark.
        let piece =
            if caps.get(NUM1).is_some() { written.split(' ').next() } else { written.rsplit(' ').next() }?;
        amount = parse_number(piece, minor);
        if caps.get(NUM2).is_some() {
            start = num_start + written.len() - piece.len();
        }
    }
    let money = Money::new(amount?, currency).ok()?;
    // A number glued to letters or more digits (`4821x`, `$5k`) is a code, not an amount.
    let after = text[whole.end()..].chars().next();
    if caps.get(NUM1).is_some()
        && caps.get(POST1).is_none()
        && after.is_some_and(|c| c.is_alphanumeric() && !c.is_ascii_uppercase() && c.is_ascii())
    {
        return None;
    }
    let before = text[..start].chars().next_back();
    if caps.get(NUM2).is_some() && before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '#') {
        return None;
    }
    Some(Mention { start, end: whole.end(), money, negative: caps.get(NEG).is_some() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locale::Lang;
    use chrono::FixedOffset;

    fn money(text: &str) -> Vec<String> {
        let offset = FixedOffset::east_opt(0).expect("offset");
        let cues = CurrencyCues::new(text, &text.to_lowercase(), Lang::En, offset);
        find(text, &cues)
            .iter()
            .map(|m| format!("{}{}", if m.negative { "-" } else { "" }, m.money))
            .collect()
    }

    #[test]
    fn group_indices_match_the_names() {
        let names: Vec<Option<&str>> = MONEY.capture_names().collect();
        let expected =
            [(NEG, "neg"), (PRE, "pre"), (NUM1, "num1"), (POST1, "post1"), (NUM2, "num2"), (POST2, "post2")];
        assert_eq!(names.len(), 7);
        for (i, name) in expected {
            assert_eq!(names[i], Some(name));
        }
    }

    #[test]
    fn mentions_in_every_style() {
        let cases: &[(&str, &[&str])] = &[
            ("Amount: $6.75", &["6.75 USD"]),
            ("Rs.1,250.00 debited", &["1250.00 INR"]),
            ("Rs. 186 total", &["186.00 INR"]),
            ("credited with INR 1,23,456.78 on", &["123456.78 INR"]),
            ("Betrag: 1.234,56 € am", &["1234.56 EUR"]),
            ("CHF 1'249.00", &["1249.00 CHF"]),
            ("Solde 1 523,10 €", &["1523.10 EUR"]),
            ("ご利用金額：12,800円", &["12800 JPY"]),
            ("¥4,500 JPY", &["4500 JPY"]),
            ("$29.54 USD", &["29.54 USD"]),
            ("sent you $120.00 (CAD) and", &["120.00 CAD"]),
            ("Promo -S$1.50 then S$24.90", &["-1.50 SGD", "24.90 SGD"]),
            ("card ending 4821 $6.75", &["6.75 USD"]),
            ("R$ 1.234,56 em 4x de R$ 308,64", &["1234.56 BRL", "308.64 BRL"]),
            ("You've received 500.00 EUR", &["500.00 EUR"]),
            ("KWD 12.500 paid", &["12.500 KWD"]),
        ];
        for (text, expected) in cases {
            assert_eq!(money(text), *expected, "{text}");
        }
    }

    #[test]
    fn near_misses_are_not_money() {
        for text in [
            "call 1-555-0142",
            "ATM 3RD & GRAND",
            "UPI Ref 600812447391",
            "12.6 km",
            "5% cashback",
            "1 USD = 152.3190 JPY is a rate",
            "Order #BZ-40718826",
            "€1,5555 is too precise",
            "on 08-01-26",
        ] {
            let found = money(text);
            assert!(
                found.is_empty() || text.starts_with("1 USD") && found == ["1.00 USD"],
                "{text}: {found:?}"
            );
        }
    }
}
