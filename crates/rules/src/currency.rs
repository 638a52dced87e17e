//! Currency marks (`$`, `US$`, `€`, `Rs.`, `円`, ISO codes …) and how an ambiguous mark such as
//! `$`, `kr`, `¥` or `Rs` is settled from the rest of the email.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::FixedOffset;
use penny_contract::Currency;
use regex::Regex;

use crate::locale::Lang;
use crate::text::contains;

/// What an ambiguous mark means in this email, decided once per email.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CurrencyCues {
    dollar: Option<Currency>,
    yen: Option<Currency>,
    krone: Option<Currency>,
    rupee: Option<Currency>,
}

fn code(code: &str) -> Option<Currency> {
    // The marks' own codes are looked up once; parsing walks every ISO code.
    static KNOWN: LazyLock<HashMap<&'static str, Option<Currency>>> = LazyLock::new(|| {
        let codes = [
            "USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "COP", "CLP", "ARS", "TWD", "UYU", "BRL", "EUR",
            "GBP", "INR", "PKR", "LKR", "NPR", "MUR", "SCR", "JPY", "CNY", "KRW", "RUB", "TRY", "PHP", "VND",
            "THB", "ILS", "PLN", "CZK", "HUF", "MYR", "IDR", "CHF", "SEK", "NOK", "DKK", "ISK",
        ];
        codes.into_iter().map(|c| (c, Currency::parse(c).ok())).collect()
    });
    match KNOWN.get(code) {
        Some(known) => *known,
        None => Currency::parse(code).ok(),
    }
}

/// Three upper-case letters that are ISO codes but are far more often ordinary words in mail.
const CODE_LOOKALIKES: &[&str] = &["ALL", "TOP", "CUP", "BOB", "MOP", "SOS", "PEN", "CAR", "GEL"];

/// An ISO code written next to a number somewhere in the text; settles a bare `$` or `kr`.
static CODE_NEAR_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| crate::text::regex(r"\d\s?\(?([A-Z]{3})\)?\b|\b([A-Z]{3})\s?\d"));

/// Words that tie a bare `$` to a country, by its payment systems and banking vocabulary.
static DOLLAR_COUNTRY: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"\b(interac|e-transfer|chequing|caisse populaire)\b", "CAD"),
        (r"\b(osko|payid|bpay|bsb)\b", "AUD"),
        (r"\b(paynow|nets)\b", "SGD"),
        (r"\b(kiwibank|eftpos nz)\b", "NZD"),
        (r"\b(fps|octopus)\b", "HKD"),
        (r"\b(spei|oxxo)\b", "MXN"),
    ]
    .into_iter()
    .map(|(re, c)| (crate::text::regex(re), c))
    .collect()
});

impl CurrencyCues {
    pub fn new(text: &str, lower: &str, lang: Lang, offset: FixedOffset) -> Self {
        let mut near_codes = Vec::new();
        // Only `$`, `¥`, `kr` and `Rs` are settled from the rest of the email (`resolve`), and a
        // mark is written in the text: without one, nothing here is ever asked for, so the scan
        // for codes is skipped.
        let ambiguous = text.contains(['$', '¥']) || contains(text, "kr") || contains(text, "Rs");
        let scanned = if ambiguous { 64 } else { 0 };
        for caps in CODE_NEAR_NUMBER.captures_iter(text).take(scanned) {
            if let Some(m) = caps.get(1).or_else(|| caps.get(2))
                && !CODE_LOOKALIKES.contains(&m.as_str())
                && let Some(c) = code(m.as_str())
            {
                near_codes.push(c);
            }
        }
        let first_of = |wanted: &[&str]| near_codes.iter().copied().find(|c| wanted.contains(&c.code()));

        let dollar_codes =
            ["USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "COP", "CLP", "ARS", "TWD", "UYU"];
        let offset_hours = offset.local_minus_utc() / 3600;
        let dollar = first_of(&dollar_codes)
            .or_else(|| {
                // Only a bare `$` needs the country; most mail has none.
                if !text.contains('$') {
                    return None;
                }
                DOLLAR_COUNTRY.iter().find(|(re, _)| re.is_match(lower)).and_then(|(_, c)| code(c))
            })
            .or_else(|| match lang {
                Lang::Fr => code("CAD"),
                Lang::Es => code("MXN"),
                // Australia and New Zealand write a bare `$` for their own dollar.
                _ if (9..=11).contains(&offset_hours) => code("AUD"),
                _ if (12..=13).contains(&offset_hours) => code("NZD"),
                _ => code("USD"),
            });
        let yen = first_of(&["JPY", "CNY"]).or_else(|| {
            if lang == Lang::Zh || ["人民币", "rmb", "元"].iter().any(|w| contains(lower, w)) {
                code("CNY")
            } else {
                code("JPY")
            }
        });
        let krone = first_of(&["SEK", "NOK", "DKK", "ISK"]).or_else(|| match lang {
            Lang::No => code("NOK"),
            Lang::Da => code("DKK"),
            _ => code("SEK"),
        });
        let rupee = first_of(&["INR", "PKR", "LKR", "NPR", "MUR", "SCR"]).or_else(|| code("INR"));
        Self { dollar, yen, krone, rupee }
    }

    /// The currency of a mark as written before or after an amount.
    pub fn resolve(&self, mark: &str) -> Option<Currency> {
        let mark = mark.trim().trim_matches(|c| c == '(' || c == ')');
        match mark {
            "$" => self.dollar,
            "US$" | "U$S" => code("USD"),
            "A$" | "AU$" => code("AUD"),
            "C$" | "CA$" => code("CAD"),
            "S$" | "SG$" => code("SGD"),
            "NZ$" => code("NZD"),
            "HK$" => code("HKD"),
            "MX$" => code("MXN"),
            "R$" => code("BRL"),
            "€" => code("EUR"),
            "£" => code("GBP"),
            "₹" => code("INR"),
            "Rs" | "Rs." => self.rupee,
            "¥" => self.yen,
            "円" => code("JPY"),
            "元" => code("CNY"),
            "₩" | "원" => code("KRW"),
            "₽" => code("RUB"),
            "₺" => code("TRY"),
            "₱" => code("PHP"),
            "₫" => code("VND"),
            "฿" => code("THB"),
            "₪" => code("ILS"),
            "zł" => code("PLN"),
            "Kč" => code("CZK"),
            "Ft" => code("HUF"),
            "RM" => code("MYR"),
            "Rp" => code("IDR"),
            "Fr." => code("CHF"),
            "kr" | "kr." => self.krone,
            other if other.len() == 3 && !CODE_LOOKALIKES.contains(&other) => code(other),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cues(text: &str, lang: Lang, offset_hours: i32) -> CurrencyCues {
        let offset = FixedOffset::east_opt(offset_hours * 3600).expect("offset");
        CurrencyCues::new(text, &text.to_lowercase(), lang, offset)
    }

    #[test]
    fn marks_resolve() {
        let c = cues("", Lang::En, 0);
        for (mark, expected) in [
            ("US$", "USD"),
            ("A$", "AUD"),
            ("C$", "CAD"),
            ("S$", "SGD"),
            ("R$", "BRL"),
            ("€", "EUR"),
            ("£", "GBP"),
            ("₹", "INR"),
            ("Rs.", "INR"),
            ("円", "JPY"),
            ("¥", "JPY"),
            ("CHF", "CHF"),
            ("(CAD)", "CAD"),
            ("kr", "SEK"),
            ("$", "USD"),
            ("KWD", "KWD"),
        ] {
            assert_eq!(c.resolve(mark).map(|c| c.code()), Some(expected), "{mark}");
        }
        for not_money in ["ATM", "UPI", "GST", "ALL", "TOP", "OTP", "abc", ""] {
            assert_eq!(c.resolve(not_money), None, "{not_money}");
        }
    }

    #[test]
    fn a_bare_dollar_follows_the_email() {
        let dollar = |text: &str, lang, offset| cues(text, lang, offset).resolve("$").map(|c| c.code());
        assert_eq!(dollar("Total $5.00 (CAD)", Lang::En, -5), Some("CAD"));
        assert_eq!(dollar("Achat de 64,35 $", Lang::Fr, -4), Some("CAD"));
        assert_eq!(dollar("Compra por $1,850.00", Lang::Es, -6), Some("MXN"));
        assert_eq!(dollar("You've sent $450.00 using Osko", Lang::En, 10), Some("AUD"));
        assert_eq!(dollar("Paid $12.00", Lang::En, 11), Some("AUD"));
        assert_eq!(dollar("Paid $12.00", Lang::En, -8), Some("USD"));
        assert_eq!(dollar("Paid $12.00 — 1 USD = 0.9 EUR", Lang::En, 1), Some("USD"));
        assert_eq!(cues("总计 ¥88 元", Lang::Zh, 8).resolve("¥").map(|c| c.code()), Some("CNY"));
        assert_eq!(cues("kjøp med kortet", Lang::No, 1).resolve("kr").map(|c| c.code()), Some("NOK"));
    }
}
