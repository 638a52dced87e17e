//! The extractor: classify, find the amount, then read direction, date, merchant, account and
//! category around it.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use penny_contract::Money;
use penny_contract::events::ExtractedTransaction;
use rust_decimal::Decimal;

use crate::classify::{self, SkipReason};
use crate::currency::CurrencyCues;
use crate::date::{self, DateMention, Order};
use crate::fields::{self, Field};
use crate::locale::{self, Lang};
use crate::mention::{self, Mention};
use crate::prefilter::Rule;
use crate::role::{self, Role};
use crate::text::{Doc, floor_char};
use crate::{account, category, direction, merchant};

/// One email as the extractor reads it: decoded headers and the text body (HTML already turned
/// into text).
#[derive(Debug, Clone, Copy)]
pub struct Email<'a> {
    /// The decoded subject.
    pub subject: &'a str,
    /// The sender as displayed: `Name <address>`, a bare address, or empty.
    pub from: &'a str,
    /// The `Date` header. With the sender's offset when known (it gives the sender's local date
    /// and clock for stated times); a UTC time works too (`DateTime::fixed_offset`).
    pub received_at: DateTime<FixedOffset>,
    /// The decoded text body.
    pub body: &'a str,
}

/// What the rules found in one email.
#[derive(Debug, Clone, PartialEq)]
pub enum Extraction {
    /// One or more transactions, in the order the email states them.
    Transactions(Vec<ExtractedTransaction>),
    /// Not a transaction, and why.
    Skipped(SkipReason),
}

/// Runs every rule on one email. Pure and infallible: any input gives an answer.
pub fn extract(email: &Email<'_>) -> Extraction {
    let doc = Doc::new(email.subject, email.from, email.body);
    if let Some(reason) = classify::skip_reason(&doc) {
        return Extraction::Skipped(reason);
    }
    let offset = *email.received_at.offset();
    let lang = locale::detect(&doc.lower);
    let cues = CurrencyCues::new(&doc.text, &doc.lower, lang, offset);
    let mentions = mention::find(&doc.text, &cues);
    let roles = role::roles(&doc, &mentions);
    let fields = fields::fields(&doc);
    let reference = email.received_at.date_naive();
    let ctx = Context { doc: &doc, fields: &fields, email, offset };

    let rows = statement_rows(&doc, &mentions, reference, date_order(lang, None, offset));
    if rows.len() >= 2 {
        let txs = rows
            .into_iter()
            .map(|row| ctx.transaction(row.money, row.at, Role::Amount, Some(row.date), Some(row.merchant)))
            .collect();
        return Extraction::Transactions(txs);
    }

    let Some((best, role)) = pick_amount(&doc, &mentions, &roles) else {
        return Extraction::Skipped(classify::no_amount_reason(&doc));
    };
    let order = date_order(lang, Some(best.money), offset);
    let dates = date::find_with(&doc.lower, reference, order, date::month_words(&doc));
    let stated = pick_date(&doc, &dates, best.start, reference);
    Extraction::Transactions(vec![ctx.transaction(best.money, best.start, role, stated, None)])
}

struct Context<'a> {
    doc: &'a Doc,
    fields: &'a [Field<'a>],
    email: &'a Email<'a>,
    offset: FixedOffset,
}

impl Context<'_> {
    fn transaction(
        &self,
        money: Money,
        at: usize,
        role: Role,
        stated: Option<DateMention>,
        merchant_hint: Option<String>,
    ) -> ExtractedTransaction {
        let (kind, direction_stated) = direction::direction(self.doc, at);
        let merchant = merchant_hint.or_else(|| merchant::merchant(self.doc, self.fields, kind));
        let merchant_lower = merchant.as_deref().map(str::to_lowercase).unwrap_or_default();
        let category = category::category(kind, &merchant_lower, self.doc);
        let occurred_at = match stated {
            Some(DateMention { date, time: Some(time), .. }) => local_to_utc(date, time, self.offset),
            Some(DateMention { date, time: None, .. }) => noon_utc(date),
            None => self.email.received_at.with_timezone(&Utc),
        };
        let mut confidence = 50;
        confidence += match role {
            Role::Total | Role::Amount => 20,
            _ => 5,
        };
        confidence += if direction_stated { 10 } else { 0 };
        confidence += if merchant.is_some() { 10 } else { 0 };
        confidence += if stated.is_some() { 5 } else { 0 };
        ExtractedTransaction {
            money,
            kind,
            merchant,
            occurred_at,
            account_hint: account::last_four(self.doc),
            category_hint: Some(category.to_owned()),
            confidence: Decimal::new(confidence.min(95), 2),
        }
    }
}

/// A date-only transaction is stored at 12:00 UTC of that date (DESIGN.md, "Time").
fn noon_utc(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default()))
}

/// A stated wall-clock time is read in the sender's offset.
fn local_to_utc(date: NaiveDate, time: NaiveTime, offset: FixedOffset) -> DateTime<Utc> {
    offset
        .from_local_datetime(&date.and_time(time))
        .single()
        .map_or_else(|| noon_utc(date), |t| t.with_timezone(&Utc))
}

/// Month-day only for English mail in US dollars or from the Americas' clocks; everyone else
/// writes day-month.
fn date_order(lang: Lang, money: Option<Money>, offset: FixedOffset) -> Order {
    let hours = offset.local_minus_utc() / 3600;
    let usd = money.is_some_and(|m| m.currency().code() == "USD");
    if lang == Lang::En && (usd || (-10..=-4).contains(&hours)) { Order::MonthDay } else { Order::DayMonth }
}

/// The transaction amount: the best-cued mention that can be one, preferring totals, the
/// subject, and figures the mail repeats.
fn pick_amount(doc: &Doc, mentions: &[Mention], roles: &[Role]) -> Option<(Mention, Role)> {
    let mut best: Option<(i32, usize)> = None;
    for (i, (m, role)) in mentions.iter().zip(roles).enumerate() {
        if !role.can_be_transaction() || m.negative {
            continue;
        }
        let repeats = mentions.iter().filter(|o| o.money == m.money && !o.negative).count() as i32 - 1;
        let in_subject = m.start < doc.body_start;
        let score = match role {
            Role::Total => 6,
            Role::Amount => 4,
            _ => 1,
        } + if in_subject { 3 } else { 0 }
            + repeats.min(3);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, i));
        }
    }
    let (_, i) = best?;
    // Report the strongest role any mention of the chosen figure had.
    let role = mentions
        .iter()
        .zip(roles)
        .filter(|(m, r)| m.money == mentions[i].money && r.can_be_transaction())
        .map(|(_, r)| *r)
        .max()
        .unwrap_or(Role::Neutral);
    Some((mentions[i].clone(), role))
}

static DATE_LABEL: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(
        r"date|datum|fecha|data|when|posted|dinank|दिनांक|日時|利用日|placed|paid|transaction|billed|(^|\s)(on|le|am|el|em|il|op|du)\s*$",
    )
});

/// Words before a date that make it not the transaction's (a stay, a due date, a validity).
static OTHER_DATE: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(
        r"next|upcoming|\bdue\b|valid|until|\btill\b|expir|scheduled|estimated|expected|check-?in|check-?out|\bstay\b|period|renew|vence|vencimiento|válid|hasta|próxim|échéance|jusqu|prochain|fällig|nächste|gültig|\bbis\b|vervaldatum|volgende|geldig|\btot\b|scadenza|prossim|\bfino\b|inchecken|uitchecken|delivery|lieferung|entrega|livraison|levering|consegna|balance as of|as on|as of",
    )
});

/// Every rule of this module, for the keyword pass.
pub(crate) fn rules() -> Vec<&'static Rule> {
    vec![&*DATE_LABEL, &*OTHER_DATE]
}

/// The stated transaction date: a labelled one first, then one on the amount's line, then the
/// first plausible one.
fn pick_date(
    doc: &Doc,
    dates: &[DateMention],
    amount_at: usize,
    reference: NaiveDate,
) -> Option<DateMention> {
    let latest = reference + chrono::Days::new(1);
    let earliest = reference - chrono::Days::new(400);
    let amount_line = doc.line_at(amount_at);
    let mut best: Option<(i32, DateMention)> = None;
    for d in dates {
        let (line_start, _) = doc.line_at(d.start);
        let label_start = floor_char(&doc.lower, line_start.max(d.start.saturating_sub(50)));
        let label = label_start..d.start;
        // A date after the email (beyond a day of clock skew) is a future one: a renewal, a stay.
        if OTHER_DATE.is_match(doc, label.clone()) || d.date > latest || d.date < earliest {
            continue;
        }
        let mut score = 0;
        if DATE_LABEL.is_match(doc, label) {
            score += 3;
        }
        if doc.line_at(d.start) == amount_line {
            score += 2;
        }
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, *d));
        }
    }
    best.map(|(_, d)| d)
}

/// One line of an activity digest: `05/26   GREENLEAF MARKET   $112.37`.
struct Row {
    date: DateMention,
    merchant: String,
    money: Money,
    at: usize,
}

/// Lines that each hold a date, a description and one amount, as activity digests list them.
fn statement_rows(doc: &Doc, mentions: &[Mention], reference: NaiveDate, order: Order) -> Vec<Row> {
    let mut rows = Vec::new();
    for m in mentions.iter().filter(|m| m.start >= doc.body_start && !m.negative) {
        let (line_start, line_end) = doc.line_at(m.start);
        if !doc.text[m.end..line_end].trim().is_empty() {
            continue;
        }
        let line = &doc.text[line_start..m.start];
        let trimmed = line.trim_start();
        let Some((token, description)) = trimmed.split_once(char::is_whitespace) else { continue };
        let Some(date) = date::leading_short_date(token, reference, order) else { continue };
        let description = description.trim();
        let lower = description.to_lowercase();
        if description.is_empty()
            || crate::text::contains(&lower, "total")
            || crate::text::contains(&lower, "balance")
        {
            continue;
        }
        let Some(merchant) = merchant::clean_descriptor(description) else { continue };
        let start = line_start + (line.len() - trimmed.len());
        rows.push(Row {
            date: DateMention { start, end: start + token.len(), date, time: None },
            merchant,
            money: m.money,
            at: m.start,
        });
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        subject: &'static str,
        from: &'static str,
        sent: &'static str,
        body: &'static str,
        /// amount, currency, direction, merchant, date (sender's local), last four.
        expect: (
            &'static str,
            &'static str,
            &'static str,
            Option<&'static str>,
            &'static str,
            Option<&'static str>,
        ),
    }

    fn run(case: &Case) -> ExtractedTransaction {
        let received_at = DateTime::parse_from_rfc3339(case.sent).expect("date");
        let email = Email { subject: case.subject, from: case.from, received_at, body: case.body };
        match extract(&email) {
            Extraction::Transactions(mut txs) => txs.remove(0),
            Extraction::Skipped(reason) => panic!("{}: skipped as {}", case.subject, reason.as_str()),
        }
    }

    #[test]
    fn whole_alerts_in_every_language() {
        let cases = [
            Case {
                subject: "Card purchase",
                from: "Prairie Bank <alerts@prairie.example>",
                sent: "2026-03-03T09:00:00-06:00",
                body: "Your debit card ending in 1188 was used.\n\nMerchant: HILLTOP HARDWARE #22 AUSTIN TX\nAmount: $84.10\nDate: 03/02/2026\nAvailable balance: $2,410.55",
                expect: ("84.10", "USD", "expense", Some("Hilltop Hardware"), "2026-03-02", Some("1188")),
            },
            Case {
                subject: "Cargo en tu tarjeta",
                from: "Banco Sierra <avisos@sierra.example>",
                sent: "2026-05-10T20:00:00+02:00",
                body: "Se ha realizado un cargo con tu tarjeta terminada en 4410.\nComercio: LIBRERIA CERVANTES - MADRID\nImporte: 1.025,40 EUR\nFecha: 9 de mayo de 2026\nSaldo disponible: 3.120,00 EUR",
                expect: ("1025.40", "EUR", "expense", Some("Libreria Cervantes"), "2026-05-09", Some("4410")),
            },
            Case {
                subject: "Você recebeu uma transferência",
                from: "Banco Ipê <avisos@ipe.example>",
                sent: "2026-06-02T10:00:00-03:00",
                body: "Você recebeu um Pix.\nValor: R$ 2.500,00\nDe: JOANA LIMA\nData: 01/06/2026\nConta final 8080",
                expect: ("2500.00", "BRL", "income", Some("Joana Lima"), "2026-06-01", Some("8080")),
            },
            Case {
                subject: "Paiement par carte",
                from: "Banque Lac <alertes@lac.example>",
                sent: "2026-07-15T12:00:00+02:00",
                body: "Un paiement de 1 250,00 € a été effectué chez GARAGE DUPONT avec votre carte se terminant par 7002, le 14/07/2026.\nSolde disponible : 4 000,00 €",
                expect: ("1250.00", "EUR", "expense", Some("Garage Dupont"), "2026-07-14", Some("7002")),
            },
            Case {
                subject: "Gutschrift auf Ihrem Konto",
                from: "Nordbank <service@nordbank.example>",
                sent: "2026-02-27T08:00:00+01:00",
                body: "Ihrem Konto wurde ein Betrag gutgeschrieben.\nAuftraggeber: MUSTER GMBH\nBetrag: 2.345,67 €\nBuchungsdatum: 26.02.2026\nKonto: DE** **** **** **12 34",
                expect: ("2345.67", "EUR", "income", Some("Muster GmbH"), "2026-02-26", Some("1234")),
            },
            Case {
                subject: "Betaling verwerkt",
                from: "Dijkbank <noreply@dijk.example>",
                sent: "2026-04-02T18:00:00+02:00",
                body: "Je hebt een betaling gedaan.\nBedrag: € 12,50\nAan: Fietsenwinkel Visser\nDatum: 2 april 2026",
                expect: ("12.50", "EUR", "expense", Some("Fietsenwinkel Visser"), "2026-04-02", None),
            },
            Case {
                subject: "Addebito carta",
                from: "Banca Colle <avvisi@colle.example>",
                sent: "2026-09-05T09:00:00+02:00",
                body: "È stato effettuato un pagamento con la tua carta ****3141.\nEsercente: TRATTORIA DA MARIO - FIRENZE\nImporto: 56,00 €\nData: 04/09/2026 21:15",
                expect: ("56.00", "EUR", "expense", Some("Trattoria Da Mario"), "2026-09-04", Some("3141")),
            },
            Case {
                subject: "カードご利用のお知らせ",
                from: "みどりカード <info@midori.example>",
                sent: "2026-10-02T09:00:00+09:00",
                body: "■ご利用カード:下4桁 5521\n■ご利用日時:2026年10月1日 18:30\n■ご利用先:ミドリ書店\n■ご利用金額:3,480円",
                expect: ("3480", "JPY", "expense", Some("ミドリ書店"), "2026-10-01", Some("5521")),
            },
            Case {
                subject: "Rs.2,000.00 credited to A/c XX9911",
                from: "Ganga Bank <alerts@ganga.example>",
                sent: "2026-01-20T11:00:00+05:30",
                body: "Aapke khaate XX9911 mein Rs.2,000.00 credit kiye gaye hain on 20-01-2026 from VPA amit@ganga (AMIT SINGH). Avl Bal: Rs.12,34,567.00",
                expect: ("2000.00", "INR", "income", Some("Amit Singh"), "2026-01-20", Some("9911")),
            },
            Case {
                subject: "Belastung Ihres Kontos",
                from: "Bank Matt <info@matt.example>",
                sent: "2026-03-10T10:00:00+01:00",
                body: "Ihr Konto wurde belastet.\nHändler: SKISHOP ALPIN AG, DAVOS\nBetrag: CHF 2'480.50\nDatum: 09.03.2026",
                expect: ("2480.50", "CHF", "expense", Some("Skishop Alpin"), "2026-03-09", None),
            },
        ];
        for case in &cases {
            let tx = run(case);
            let (amount, currency, direction, merchant, date, last4) = case.expect;
            assert_eq!(tx.money.amount().to_string(), amount, "{}", case.subject);
            assert_eq!(tx.money.currency().code(), currency, "{}", case.subject);
            assert_eq!(tx.kind.to_string(), direction, "{}", case.subject);
            assert_eq!(tx.merchant.as_deref(), merchant, "{}", case.subject);
            let offset = *DateTime::parse_from_rfc3339(case.sent).expect("date").offset();
            assert_eq!(
                tx.occurred_at.with_timezone(&offset).date_naive().to_string(),
                date,
                "{}",
                case.subject
            );
            assert_eq!(tx.account_hint.as_deref(), last4, "{}", case.subject);
            assert!(tx.confidence > Decimal::ZERO && tx.confidence <= Decimal::ONE);
            assert!(tx.category_hint.is_some());
        }
    }

    #[test]
    fn a_date_only_transaction_is_booked_at_noon_utc() {
        let received_at = DateTime::parse_from_rfc3339("2026-03-03T23:30:00-08:00").expect("date");
        let email = Email {
            subject: "Card purchase",
            from: "",
            received_at,
            body: "Amount: $5.00\nDate: 03/02/2026",
        };
        let Extraction::Transactions(txs) = extract(&email) else { panic!("not a transaction") };
        assert_eq!(txs[0].occurred_at.to_rfc3339(), "2026-03-02T12:00:00+00:00");
    }

    #[test]
    fn garbage_gives_an_answer() {
        let received_at = DateTime::UNIX_EPOCH.fixed_offset();
        for body in [
            "",
            "$",
            "€€€ 1,2,3,4 ¥",
            "\u{0}\u{ffff}",
            &"$1 ".repeat(5000),
            "Rs.\n\n\n9999999999999999999999999999",
        ] {
            let _ = extract(&Email { subject: body, from: body, received_at, body });
        }
    }
}
