//! The last four digits of the reader's card or account, when the mail states them: `ending in
//! 4821`, `XX7730`, `****5583`, `x-3307`, `•••• 9902`, `terminada en 0915`, `endet auf`, `下4桁`, or
//! a masked IBAN (`NL** BANK **** **44 02`). A beneficiary's account is not the reader's.

use std::sync::LazyLock;

use crate::prefilter::Rule;
use crate::text::{Doc, floor_char};

static ACCOUNT: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(concat!(
        r"(?:ending(?: in| with)?|ends in|last (?:4|four) digits|terminad[ao] en|terminaci[óo]n|con terminaci[óo]n|final(?:izado em)?|se terminant par|terminant par|endet auf|endend auf|eindigend op|eindigt op|che termina (?:in|con)|terminante (?:in|con)|下4桁|末尾|aakhri)",
        r"\s*[:\-]?\s*(?:no\.?\s*)?(?:[x*•·.]+\s*)?(\d{4})\b",
        r"|(?:^|[^a-z0-9])(?:[x*•·]{2,}[\s-]?)+(\d{4})\b",
        r"|\bx-(\d{4})\b",
        r"|\*{2,}\s?(\d{2})\s(\d{2})\b",
        r"|\b(?:visa|mastercard|amex|american express|rupay|maestro|discover|jcb|diners)(?:\s+(?:debit|credit|gold|platinum|card))?\s*[-–:]\s*(\d{4})\b",
    ))
});

/// Words that make the digits after them someone else's account.
static NOT_MINE: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(
        r"(beneficiary|benef\.?|payee|recipient|to a/c|to account|destinat|empf[äa]nger|b[ée]n[ée]ficiaire|begunstigde|ontvanger|favorecido|beneficiario)[^\n]{0,12}$",
    )
});

/// Every rule of this module, for the keyword pass.
pub(crate) fn rules() -> Vec<&'static Rule> {
    vec![&*ACCOUNT, &*NOT_MINE]
}

/// The first stated last-four of the reader's own account or card.
pub(crate) fn last_four(doc: &Doc) -> Option<String> {
    if !ACCOUNT.may_match(doc, doc.all()) {
        return None;
    }
    for caps in ACCOUNT.regex().captures_iter(&doc.lower) {
        let Some(whole) = caps.get(0) else { continue };
        let before_start = floor_char(&doc.lower, whole.start().saturating_sub(30));
        if NOT_MINE.is_match(doc, before_start..whole.start()) {
            continue;
        }
        if let (Some(a), Some(b)) = (caps.get(4), caps.get(5)) {
            return Some(format!("{}{}", a.as_str(), b.as_str()));
        }
        if let Some(m) = [1, 2, 3, 6].into_iter().find_map(|i| caps.get(i)) {
            return Some(m.as_str().to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn four(body: &str) -> Option<String> {
        last_four(&Doc::new("", "", body))
    }

    #[test]
    fn masks_and_phrases_in_every_language() {
        let cases = [
            ("your Visa card ending in 4821.", "4821"),
            ("debited from A/c XX7730 on", "7730"),
            ("account **7730 towards", "7730"),
            ("Karte endet auf 5583", "5583"),
            ("tarjeta de débito terminada en 0915.", "0915"),
            ("cartão de crédito final 7781", "7781"),
            ("carte se terminant par 8830", "8830"),
            ("carta di debito ****7045", "7045"),
            ("Paid with Visa x-3307", "3307"),
            ("Mastercard •••• 5127", "5127"),
            ("Visa – 9902", "9902"),
            ("ご利用カード:ゴールド(下4桁 6602)", "6602"),
            ("Van rekening: NL** BANK **** **44 02", "4402"),
            ("Debit Mastercard XXXX XXXX XXXX 3391", "3391"),
            ("con terminación\n2210", "2210"),
            ("eindigend op 1234", "1234"),
        ];
        for (body, expected) in cases {
            assert_eq!(four(body).as_deref(), Some(expected), "{body}");
        }
    }

    #[test]
    fn near_misses() {
        for body in [
            "call 1-555-0142",
            "UPI Ref No. 600812447391",
            "transfer to SUNITA (beneficiary A/c ***4410, IFSC X)",
            "Order ID: HL-260417-8831",
            "Captain: K (KA 01 AB 1234)",
            "Payment ID: 4021978836510042",
        ] {
            assert_eq!(four(body), None, "{body}");
        }
    }
}
