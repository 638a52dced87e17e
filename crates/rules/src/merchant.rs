//! The merchant or counterparty: a labelled field (`Merchant:`, `Comercio`, `Händler`, `Payee`,
//! `Remitter`, `Van` …), a sentence around the amount (`spent … at X`, `sent … to X`, `X sent you`,
//! `received … from X`, `chez X`, `bei X`, `aan X`), or else the sender of a receipt. Card
//! descriptors are cleaned of store numbers, branches, cities and legal forms.

use std::sync::LazyLock;

use penny_contract::TransactionType;
use regex::Regex;

use crate::fields::Field;
use crate::prefilter::Rule;
use crate::text::Doc;

const PAYEE_LABELS: &[&str] = &[
    "merchant",
    "merchant name",
    "paid to",
    "payee",
    "pay to",
    "recipient",
    "beneficiary",
    "store",
    "shop",
    "vendor",
    "retailer",
    "at",
    "where",
    "to",
    "comercio",
    "establecimiento",
    "beneficiario",
    "destinatario",
    "estabelecimento",
    "favorecido",
    "loja",
    "commerçant",
    "marchand",
    "bénéficiaire",
    "enseigne",
    "händler",
    "empfänger",
    "zahlungsempfänger",
    "akzeptanzstelle",
    "geschäft",
    "aan",
    "begunstigde",
    "ontvanger",
    "winkel",
    "esercente",
    "negozio",
    "ご利用先",
    "ご利用店舗",
    "加盟店",
    "ご利用店",
    "paane wala",
];

const PAYER_LABELS: &[&str] = &[
    "from",
    "remitter",
    "sender",
    "payer",
    "paid by",
    "received from",
    "de",
    "remetente",
    "ordenante",
    "emisor",
    "pagador",
    "von",
    "auftraggeber",
    "absender",
    "zahler",
    "van",
    "da",
    "ordinante",
    "mittente",
    "émetteur",
    "振込人",
    "送金者",
    "依頼人",
    "bhejne wala",
];

fn re(p: &str) -> Regex {
    crate::text::regex(p)
}

/// Sentences naming whom the reader paid; group `m` is the name and what follows it.
static PAYEE_SENTENCES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    [
        r"\bvpa\s+\S+\s*\((?P<m>[^)\n]+)\)",
        r"\byou(?:'ve| have)? (?:just )?paid\s+(?P<m>[^\n$€£₹¥\d]{2,60}?)\s*(?:[$€£₹¥]|[a-z]{3}\s?\d|\d)",
        r"\b(?:spent|purchase|paid|payment|charge|transaction|used)\b(?:[^\n.]|\.\d){0,30}?\bat\s+(?P<m>[^\n]+)",
        r"\b(?:payment|paid|sent|transfer(?:red)?|remitted)\b(?:[^\n.]|\.\d){0,30}?\bto\s+(?P<m>[^\n]+)",
        r"\b(?:compra|pago|cargo)\b(?:[^\n.]|\.\d){0,40}?\ben\s+(?P<m>[^\n]+)",
        r"\b(?:compra|pagamento)\b(?:[^\n.]|\.\d){0,40}?\b(?:em|no|na)\s+(?P<m>[^\n]+)",
        r"\bchez\s+(?P<m>[^\n]+)",
        r"\b(?:zahlung|kartenzahlung|einkauf|belastung|umsatz)\b(?:[^\n.]|\.\d){0,40}?\bbei\s+(?P<m>[^\n]+)",
        r"\b(?:betaling|betaald)\b(?:[^\n.]|\.\d){0,40}?\b(?:aan|bij)\s+(?P<m>[^\n]+)",
        r"\b(?:pagamento|acquisto)\b(?:[^\n.]|\.\d){0,40}?\b(?:presso|a favore di)\s+(?P<m>[^\n]+)",
    ]
    .into_iter()
    .map(Rule::new)
    .collect()
});

/// Sentences naming who paid the reader.
static PAYER_SENTENCES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    [
        r"\bvpa\s+\S+\s*\((?P<m>[^)\n]+)\)",
        r"(?:^|\n|:\s)(?P<m>[^\n:]{2,50}?)\s+(?:has )?(?:sent|paid) you\b",
        r"(?:^|\n)(?P<m>[^\n]{2,50}?)\s+(?:has )?(?:issued|processed) (?:you )?a refund",
        r"\b(?:received|receive)\b(?:[^\n.]|\.\d){0,40}?\bfrom\s+(?P<m>[^\n]+)",
        r"\brefund\b(?:[^\n.]|\.\d){0,40}?\bfrom\s+(?P<m>[^\n]+)",
        r"\b(?:recibiste|recibido|transferencia|recebeu|recebido|reçu|virement|gutschrift|überweisung|bijschrijving|ricevuto|accredito|bonifico)\b(?:[^\n.]|\.\d){0,40}?\b(?:de|von|van|da)\s+(?P<m>[^\n]+)",
    ]
    .into_iter()
    .map(Rule::new)
    .collect()
});

/// Where a name ends inside a sentence.
static NAME_END: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\s+(?:using|with|on|via|into|was|has|have|for|is|and|from|wurde|wird|hat|fue|foi|est|werd|heeft|avec|depuis|über|tramite|mediante|to|through|towards|in your|el|le|am|op|il|par|con|com|mit|per|sur|auf|um|at)\b|[,(;:!?|]|\s[-–—]\s|\.\s|\.$|\s{2,}|\s[$€£₹¥]|\s\d|\s*\p{So}",
    )
});

static ATM: LazyLock<Rule> = LazyLock::new(|| Rule::new(r"\batm\b"));
static CASH_OUT: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(r"withdraw|\bcash\b|निकासी|retiro|saque|retrait|abhebung|bargeld|opname|prelievo|引き出し|出金")
});

/// Words a sender's display name carries beside the company name.
static SENDER_NOISE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)[\s-]+(receipts?|orders?|alerts?|notifications?|notify|billing|team|support|customer service|service|online-banking|online banking|security|offers|credit cards?|cards?|no-?reply|info|updates?|mailer|news|avisos|alertas|notificaciones|benachrichtigung(en)?|avvisi|alertes)$",
    )
});

/// Every rule of this module, for the keyword pass.
pub(crate) fn rules() -> Vec<&'static Rule> {
    let sentences = PAYEE_SENTENCES.iter().chain(PAYER_SENTENCES.iter());
    sentences.chain([&*ATM, &*CASH_OUT]).collect()
}

/// The merchant or counterparty of a transaction whose amount sits at `amount_at`.
pub(crate) fn merchant(doc: &Doc, fields: &[Field<'_>], kind: TransactionType) -> Option<String> {
    let all = doc.all();
    if kind == TransactionType::Expense && ATM.is_match(doc, all.clone()) && CASH_OUT.is_match(doc, all) {
        return sender_name(doc).map(|bank| format!("{bank} ATM"));
    }
    let (labels, sentences) = match kind {
        TransactionType::Expense => (PAYEE_LABELS, &*PAYEE_SENTENCES),
        TransactionType::Income => (PAYER_LABELS, &*PAYER_SENTENCES),
    };
    let from_sentences = |range: std::ops::Range<usize>| {
        sentences.iter().filter(|rule| rule.may_match(doc, range.clone())).find_map(|rule| {
            rule.regex().captures_iter(&doc.lower[range.clone()]).find_map(|caps| {
                // Group 1 is `m` in every sentence (a test checks); by index, it needs no lookup.
                let m = caps.get(1)?;
                let start = range.start + m.start();
                let end = range.start + m.end();
                name_from_sentence(&doc.text[start..end])
            })
        })
    };
    from_sentences(doc.subject())
        .or_else(|| {
            fields
                .iter()
                .filter(|f| f.is(labels))
                .find_map(|f| clean(f.value, kind == TransactionType::Expense))
        })
        .or_else(|| from_sentences(doc.body()))
        .or_else(|| sender_name(doc))
}

/// The sender's name without its department (`Zoomride Receipts` → `Zoomride`).
pub(crate) fn sender_name(doc: &Doc) -> Option<String> {
    let mut name = doc.from_name.trim().to_owned();
    if name.is_empty() || name.contains('@') {
        let address = doc.from_lower.split('<').nth(1).unwrap_or(&doc.from_lower);
        let domain = address.split('@').nth(1)?;
        let first = domain
            .split('.')
            .find(|p| !matches!(*p, "mail" | "email" | "news" | "notify" | "alerts" | "e"))?;
        let mut chars = first.chars();
        name = chars.next()?.to_uppercase().chain(chars).collect();
    }
    loop {
        let trimmed = SENDER_NOISE.replace(&name, "").trim().to_owned();
        if trimmed == name || trimmed.is_empty() {
            break;
        }
        name = trimmed;
    }
    (name.chars().filter(|c| c.is_alphabetic()).count() >= 2).then_some(name)
}

fn name_from_sentence(raw: &str) -> Option<String> {
    let cut = NAME_END.find(raw).map_or(raw, |m| &raw[..m.start()]);
    let name = cut.trim().trim_end_matches('.');
    let lower = name.to_lowercase();
    let first_word = lower.split_whitespace().next().unwrap_or_default();
    // "to your card", "at 8:12", "em R$ 10": not a name.
    let not_a_name = [
        "your", "my", "the", "a", "an", "you", "tu", "su", "seu", "sua", "votre", "ta", "ihre", "ihr",
        "deine", "je", "uw", "la", "il", "tua", "this", "that", "it", "us", "me", "vpa",
    ];
    if not_a_name.contains(&first_word)
        || [
            "card", "account", "tarjeta", "cartão", "carte", "karte", "konto", "cuenta", "conta", "compte",
            "rekening",
        ]
        .iter()
        .any(|w| crate::text::contains(&lower, w))
    {
        return None;
    }
    clean(name, false)
}

/// Cleans a card descriptor from a statement row.
pub(crate) fn clean_descriptor(raw: &str) -> Option<String> {
    clean(raw, true)
}

static BRANCH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\s+(suc\.?|sucursal|branch|filiale|agence|store no\.?|no\.)(\s.*)?$"));
static FACILITATOR: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9]{2,10}\s?\*\s?"));
static LEGAL_FORM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\s+(ag|gmbh|s\.?a\.?|s\.?l\.?|sarl|sas|inc\.?|llc|ltd\.?|b\.?v\.?|s\.?p\.?a\.?|s\.?r\.?l\.?|kg|oy|ab)$",
    )
});

/// Cleans a written merchant; `descriptor` means it came from a card descriptor, whose legal
/// form is noise (a payer's registered name keeps it).
fn clean(raw: &str, descriptor: bool) -> Option<String> {
    // A facilitator prefix (`SQ *`, `PAYPAL *`) always has its star.
    let raw = raw.trim();
    let mut name = if raw.contains('*') { FACILITATOR.replace(raw, "").into_owned() } else { raw.to_owned() };
    for sep in [" #", " - ", " – ", " — ", ", ", "  ", "(", " |", " / ", " (", " ·"] {
        if let Some(i) = crate::text::find(&name, sep) {
            name.truncate(i);
        }
    }
    name = BRANCH.replace(&name, "").trim().to_owned();
    // Japanese descriptors end with the branch (`新宿本店`, `渋谷店`).
    if let Some((head, tail)) = name.rsplit_once(' ')
        && tail.ends_with('店')
    {
        name = head.to_owned();
    }
    let is_caps = name.chars().any(char::is_alphabetic) && !name.chars().any(char::is_lowercase);
    let words: Vec<&str> = name.split_whitespace().collect();
    // `GREENLEAF MARKET OAKLAND CA`: a trailing city and state or country code.
    if is_caps
        && words.len() >= 4
        && words.last().is_some_and(|w| w.len() == 2 && w.chars().all(|c| c.is_ascii_uppercase()))
    {
        name = words[..words.len() - 2].join(" ");
    }
    for suffix in [" ONLINE", " Online", " online", ".COM", ".com"] {
        if let Some(stripped) = name.strip_suffix(suffix) {
            name = stripped.to_owned();
        }
    }
    if descriptor && is_caps {
        name = LEGAL_FORM.replace(&name, "").into_owned();
    }
    let name = name.trim().trim_matches(|c: char| c.is_ascii_punctuation() && c != '&' && c != '\'').trim();
    let letters = name.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2 || name.len() > 60 {
        return None;
    }
    Some(if is_caps { title_case(name) } else { name.to_owned() })
}

/// Words whose usual spelling is not title case.
const SPELLINGS: &[&str] =
    &["GmbH", "AG", "LLC", "PLC", "BV", "KG", "SA", "SL", "SRL", "SpA", "ATM", "UPI", "USA", "UK"];

/// `O'NEILL'S BAR & KITCHEN` → `O'Neill's Bar & Kitchen`; `MUSTER GMBH` → `Muster GmbH`.
fn title_case(name: &str) -> String {
    let titled = title_case_words(name);
    titled
        .split(' ')
        .map(|word| {
            SPELLINGS
                .iter()
                .find(|s| s.eq_ignore_ascii_case(word))
                .map_or_else(|| word.to_owned(), |s| (*s).to_owned())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn title_case_words(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut word_start = true;
    let mut prev_single_letter = false;
    let mut run = 0usize;
    for c in name.chars() {
        if c.is_alphabetic() {
            let upper = word_start || (prev_single_letter && out.ends_with('\''));
            if upper {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            run += 1;
            word_start = false;
        } else {
            prev_single_letter = c == '\'' && run == 1;
            word_start = c.is_whitespace() || c == '-' || c == '/';
            run = 0;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::fields;

    fn who(subject: &str, from: &str, body: &str, kind: TransactionType) -> Option<String> {
        let doc = Doc::new(subject, from, body);
        let f = fields(&doc);
        merchant(&doc, &f, kind)
    }

    #[test]
    fn the_name_is_the_first_group_of_every_sentence() {
        for rule in PAYEE_SENTENCES.iter().chain(PAYER_SENTENCES.iter()) {
            assert_eq!(rule.regex().capture_names().nth(1), Some(Some("m")), "{}", rule.regex().as_str());
        }
    }

    #[test]
    fn payees_in_every_language() {
        use TransactionType::Expense;
        let bank = "Some Bank Alerts <alerts@bank.example>";
        let cases = [
            ("You spent £12.00 at Corner Deli & Grill", "", "Corner Deli & Grill"),
            ("", "Merchant:   JOES PIZZA #0412 SPRINGFIELD IL", "Joes Pizza"),
            ("", "Comercio: FERRETERIA LUNA - SEVILLA", "Ferreteria Luna"),
            ("", "Händler           BUCHLADEN MEIER GMBH, KÖLN", "Buchladen Meier"),
            ("Paiement carte : 20,00 € chez BOULANGERIE ROSE", "", "Boulangerie Rose"),
            ("Betaling van € 5,00 aan Fietsenmaker Jansen", "", "Fietsenmaker Jansen"),
            ("", "Esercente:    GELATERIA SOLE - ROMA", "Gelateria Sole"),
            ("", "Estabelecimento MERCADO BOM PRECO", "Mercado Bom Preco"),
            ("", "Paane wala (Payee) : GUPTA STORES", "Gupta Stores"),
            ("", "■ご利用先:ミドリ書店 渋谷店(MIDORI SHOTEN)", "ミドリ書店"),
            ("You've sent $20.00 to SAM PARK", "", "Sam Park"),
            ("You paid Ana Ruiz $15.00", "", "Ana Ruiz"),
            ("", "Rs 500 debited towards UPI payment to VPA ravi@bank (RAVI KUMAR)", "Ravi Kumar"),
            ("", "Kartenzahlung über 9,99 € bei KIOSK NORD wurde belastet", "Kiosk Nord"),
        ];
        for (subject, body, expected) in cases {
            assert_eq!(who(subject, bank, body, Expense).as_deref(), Some(expected), "{subject} / {body}");
        }
    }

    #[test]
    fn payers_in_every_language() {
        use TransactionType::Income;
        let bank = "Bank <a@bank.example>";
        let cases = [
            ("You received £20.00 from Tom Reed", "", "Tom Reed"),
            ("e-Transfer: JANE DOE sent you money.", "", "Jane Doe"),
            ("", "Remitter                ACME TOOLS PVT LTD", "Acme Tools Pvt Ltd"),
            ("", "De:                LUCAS SILVA", "Lucas Silva"),
            ("", "Van          Bakker Holding", "Bakker Holding"),
            ("", "GADGET HUT issued a refund of $10.00", "Gadget Hut"),
            ("", "A refund of INR 99.00 from SHOPKART ONLINE has been credited", "Shopkart"),
        ];
        for (subject, body, expected) in cases {
            assert_eq!(who(subject, bank, body, Income).as_deref(), Some(expected), "{subject} / {body}");
        }
    }

    #[test]
    fn fallbacks_and_near_misses() {
        use TransactionType::{Expense, Income};
        assert_eq!(
            who("Your trip", "Ridely Receipts <r@ridely.example>", "Total A$5.00", Expense).as_deref(),
            Some("Ridely")
        );
        assert_eq!(
            who("ATM withdrawal", "Some Bank Alerts <a@b.example>", "Cash withdrawal at ATM $20", Expense)
                .as_deref(),
            Some("Some Bank ATM")
        );
        // "charged to your card", "at 8:12 AM", "em R$ 10" are not names.
        assert_eq!(who("Charged to your card at 8:12 AM", "", "", Expense), None);
        assert_eq!(who("Você recebeu um Pix de R$ 350,00", "", "", Income), None);
        assert_eq!(who("Thank you for your payment. You're all set to keep watching", "", "", Expense), None);
    }
}
