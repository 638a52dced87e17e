//! What each money mention is — the amount that moved, a total, or one of the figures that are
//! never the transaction (balances, limits, fees and taxes, instalments, foreign originals, future
//! charges, offers) — read from the words just before and after it.

use std::sync::LazyLock;

use crate::mention::Mention;
use crate::prefilter::Rule;
use crate::text::{Doc, floor_char};

/// The part a money mention plays in the email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Role {
    /// No cue either way.
    Neutral,
    /// Next to a money verb or an "amount" label.
    Amount,
    /// A total charged or paid.
    Total,
    /// A line item, fee, tax, subtotal, discount, instalment or a converted/foreign figure.
    Part,
    /// A balance or an available amount.
    Balance,
    /// A credit or spending limit.
    Limit,
    /// Something to be paid later, a minimum due or a threshold.
    Future,
    /// A promotional figure.
    Offer,
}

impl Role {
    /// Whether a mention in this role can be the transaction amount.
    pub fn can_be_transaction(self) -> bool {
        matches!(self, Role::Neutral | Role::Amount | Role::Total)
    }
}

/// One alternation per role; where several roles are cued the strongest exclusion wins, so a
/// "total available balance" is a balance and an "amount in local currency" a foreign figure.
static CUES: LazyLock<Vec<(Role, Rule)>> = LazyLock::new(|| {
    let table: &[(Role, &str)] = &[
        (
            Role::Balance,
            r"balance|\bbal\b|available|\bavl\b|saldo|solde|disponible|disponível|verfügbar|kontostand|guthaben|beschikbaar|残高|शेष|credit left",
        ),
        (Role::Limit, r"limit|l[íi]mite|plafond|limiet|kreditrahmen|\bfido\b|限度|सीमा"),
        (
            Role::Future,
            r"next (payment|charge|bill|renewal)|will be (charged|debited|taken|billed|deducted|collected)|scheduled|upcoming|minimum|\bdue\b|alert level|threshold|below|pr[óo]xim[oa] (pago|cargo|cobro|pagamento|cobrança)|prochain|nächste|volgende|prossim|vence|fällig|échéance|scadenza|vorabinformation",
        ),
        (
            Role::Offer,
            r"cashback|cash back|\bget\b|\bsave\b|\bspend\b|\bearn\b|\bwin\b|up to|\(\s*was\s*$|\bfrom\s*$|\bstarting at\s*$|\boff\b|descuento|desconto|réduction|rabatt|korting|sconto|gana|ganhe|gagnez",
        ),
        (
            Role::Part,
            r"item total|sub-?total|\btax\b|\bvat\b|\bgst\b|\bhst\b|\biva\b|\btva\b|mwst|btw|\bfee\b|fees|\btip\b|discount|promo|coupon|delivery|shipping|base fare|distance|\btime\b|\btolls?\b|surcharge|service charge|includes|incl\.|converted|exchange rate|local currency|original amount|\brate\b|\bper\b|\d\s?x\b|\bx\s*$|instal+ments?|cuotas?|parcela|parcelamento|mensualit|raten|\bx de\b|frais|gebühr|entgelt|comisi[óo]n|tarifa|taxa|commissione|kosten|\bqty\b|quantity",
        ),
        (
            Role::Total,
            r"total|amount paid|amount charged|paid amount|charged to|grand total|gesamt|totaal|totale|importe total|montant total|valor total|合計|お支払(い)?金額|कुल",
        ),
        (
            Role::Amount,
            r"amount|betrag|importe|monto|montant|valor|importo|bedrag|金額|राशि|debited|credited|spent|paid|sent|received|charged|withdrawn|withdrawal|purchase|payment of|refund|deposited|transferred|compra|pago|cargo|abono|pagamento|achat|paiement|zahlung|betaling|addebit|accredit|ご利用|निकासी|debit|credit|of\s*$|de\s*$|über|van\s*$|di\s*$",
        ),
    ];
    table.iter().map(|(role, re)| (*role, Rule::new(re))).collect()
});

/// A sum of some lines only; its "total" is not the total.
static SUBTOTAL: LazyLock<Rule> =
    LazyLock::new(|| Rule::new(r"(item|sub)[ -]?total|total (before|excl|excluding|sin|ohne|hors)"));

/// Cues after the amount that override what came before (`₹500 cashback`, `£100 alert level`,
/// `Rs 250 has been debited`).
static AFTER_CUES: LazyLock<Vec<(Role, Rule)>> = LazyLock::new(|| {
    let table: &[(Role, &str)] = &[
        (
            Role::Offer,
            r"^\W{0,3}(cashback|cash back|back\b|off\b|de descuento|de réduction|rabatt|korting|di sconto)",
        ),
        (Role::Future, r"^\W{0,3}(alert level|threshold|minimum|is due|will be)"),
        (Role::Limit, r"^\W{0,3}(limit|plafond)"),
        (
            Role::Amount,
            r"^[^\n]{0,30}?(has been |was |have been |is |were )?(debited|credited|spent|paid|sent|received|charged|withdrawn|deposited|abgebucht|belastet|gutgeschrieben|débité|crédité|addebitat|accreditat|afgeschreven|bijgeschreven|debitad|acreditad|cargad|abonad|debit|credit)",
        ),
    ];
    table.iter().map(|(role, re)| (*role, Rule::new(re))).collect()
});

/// Every rule of this module, for the keyword pass.
pub(crate) fn rules() -> Vec<&'static Rule> {
    let cues = CUES.iter().chain(AFTER_CUES.iter()).map(|(_, rule)| rule);
    std::iter::once(&*SUBTOTAL).chain(cues).collect()
}

/// The role of each mention, in order.
pub(crate) fn roles(doc: &Doc, mentions: &[Mention]) -> Vec<Role> {
    let mut out = Vec::with_capacity(mentions.len());
    for (i, m) in mentions.iter().enumerate() {
        let (line_start, line_end) = doc.line_at(m.start);
        let prev_end = i.checked_sub(1).map(|p| mentions[p].end).filter(|&e| e > line_start && e <= m.start);
        let mut from = prev_end.unwrap_or(line_start);
        let own_label = &doc.lower[from..m.start];
        // A value under its column header, or a wrapped sentence: read the line above as well.
        let label_has_letters = own_label.chars().any(char::is_alphabetic);
        let continues = doc.text[line_start..].starts_with(|c: char| c.is_lowercase());
        if prev_end.is_none() && (!label_has_letters || continues) && line_start > 0 {
            let (above_start, _) = doc.line_at(line_start - 1);
            from = above_start;
        }
        from = floor_char(&doc.lower, from.max(m.start.saturating_sub(120)));
        let before = &doc.lower[from..m.start];
        let next_start = mentions.get(i + 1).map_or(line_end, |n| n.start.min(line_end)).max(m.end);
        let after_end = floor_char(&doc.lower, next_start.min(m.end + 60));
        let after = &doc.lower[m.end..after_end];

        let mut role = Role::Neutral;
        // Cues are words; a window without letters (`   `, `) `) has none.
        if before.chars().any(char::is_alphabetic) {
            let mut scratch = None;
            let present = doc.hits.within(from..m.start, &mut scratch);
            let cued = |rule: &Rule| rule.is_match_in(present, &doc.lower, from..m.start);
            let subtotal = cued(&SUBTOTAL);
            for (cue_role, rule) in CUES.iter() {
                if !(subtotal && *cue_role == Role::Total) && cued(rule) {
                    role = pick(role, *cue_role);
                }
            }
        }
        if after.chars().any(char::is_alphabetic) {
            let mut scratch = None;
            let present = doc.hits.within(m.end..after_end, &mut scratch);
            for (cue_role, rule) in AFTER_CUES.iter() {
                if rule.is_match_in(present, &doc.lower, m.end..after_end) {
                    role = if *cue_role == Role::Amount && role == Role::Neutral {
                        Role::Amount
                    } else if *cue_role != Role::Amount {
                        pick(role, *cue_role)
                    } else {
                        role
                    };
                }
            }
        }
        if m.negative {
            role = pick(role, Role::Part);
        }
        out.push(role);
    }
    out
}

/// Exclusions outrank totals, totals outrank plain amounts.
fn pick(current: Role, cued: Role) -> Role {
    let rank = |r: Role| match r {
        Role::Neutral => 0,
        Role::Amount => 1,
        Role::Part => 2,
        Role::Total => 3,
        Role::Offer => 4,
        Role::Future => 5,
        Role::Limit => 6,
        Role::Balance => 7,
    };
    if rank(cued) > rank(current) { cued } else { current }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::currency::CurrencyCues;
    use crate::locale::Lang;
    use crate::mention;
    use chrono::FixedOffset;

    fn roles_of(body: &str) -> Vec<Role> {
        let doc = Doc::new("", "", body);
        let cues = CurrencyCues::new(&doc.text, &doc.lower, Lang::En, FixedOffset::east_opt(0).expect("utc"));
        let mentions = mention::find(&doc.text, &cues);
        roles(&doc, &mentions)
    }

    #[test]
    fn roles_in_every_language() {
        use Role::*;
        let cases: &[(&str, &[Role])] = &[
            ("Amount: $6.75\nAvailable balance: $1,845.12", &[Amount, Balance]),
            ("Rs.1,250.00 has been debited. Avl Bal: Rs.45,210.55", &[Amount, Balance]),
            ("Subtotal $20.00\nTax $1.75\nTotal charged $21.75", &[Part, Part, Total]),
            ("Total (incl. GST) S$24.90", &[Total]),
            ("Total Available Balance INR 1,87,654.32", &[Balance]),
            ("Amount in local currency: ¥4,500 JPY\nTotal charged to card: $30.43 USD", &[Part, Total]),
            ("Your next payment of £11.99 will be taken on 23 July", &[Future]),
            ("Spend ₹2,000   Get ₹100 back", &[Offer, Offer]),
            ("Betrag: 1.234,56 €\nVerfügbarer Betrag danach: 2.018,40 €", &[Amount, Balance]),
            ("Importe: 45,90 EUR\nSaldo disponible: 1.200,00 EUR", &[Amount, Balance]),
            ("Valor R$ 1.234,56\nParcelamento 4x de R$ 308,64 sem juros", &[Amount, Part]),
            ("Montant : 82,40 €\nSolde disponible 1 523,10 €", &[Amount, Balance]),
            ("Bedrag + € 3.412,08\nNieuw saldo € 4.907,33", &[Amount, Balance]),
            ("Importo: 12,40 €\nLimite residuo: 1.500,00 €", &[Amount, Limit]),
            ("■ご利用金額:12,800円", &[Amount]),
            ("राशि (Amount) ₹10,000.00\nउपलब्ध शेष (Avl Bal) ₹32,110.40", &[Amount, Balance]),
            ("dropped below the £100.00 alert level", &[Future]),
            ("Promo LAHNIGHT -S$1.50", &[Part]),
            ("Minimum payment due: $35.00", &[Future]),
        ];
        for (body, expected) in cases {
            assert_eq!(roles_of(body), *expected, "{body}");
        }
    }
}
