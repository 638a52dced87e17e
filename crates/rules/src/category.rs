//! A category hint from the system category names, from what was bought and how it was paid.

use std::sync::LazyLock;

use penny_contract::TransactionType;

use crate::prefilter::{Hits, Rule};
use crate::text::Doc;

/// Keyword rules, first match wins; each names a system category.
static RULES: LazyLock<(Vec<&'static str>, Vec<Rule>)> = LazyLock::new(|| {
    let table: &[(&str, &str)] = &[
        (
            "Cash",
            r"\batm\b|cash withdrawal|withdrawal|geldautomat|bargeld|retiro de efectivo|cajero|saque|retrait|distributeur|opname|prelievo|bancomat|निकासी|引き出し|出金",
        ),
        (
            "Fees",
            r"\bfees? charged\b|annual fee|late fee|overdraft fee|service charge|frais bancaires|kontoführung|comisi[óo]n de mantenimiento",
        ),
        (
            "Subscriptions",
            r"subscription|renewal|renews|membership|monthly plan|premium|billing period|abonnement|abonnement|suscripci[óo]n|assinatura|abbonamento|mitgliedschaft|lidmaatschap|サブスク|定期",
        ),
        (
            "Dining",
            r"restaurant|\bcafe\b|café|coffee|\bbar\b|pizza|burger|sushi|ramen|bistro|trattoria|pasticceria|bakery|bakkerij|boulangerie|bäckerei|panader|padaria|food|dining|eatery|diner|\btea\b|order from|rider tip|delivery fee|食堂|レストラン|カフェ",
        ),
        (
            "Transport",
            r"\bride\b|\btrip\b|taxi|\bcab\b|fare|fuel|petrol|gasoline|\bgas station\b|parking|toll|metro|transit|railway|\btrain\b|\bbus\b|tankstelle|gasolinera|combustible|posto|essence|carburant|benzin|brandstof|carburante|交通|タクシー",
        ),
        (
            "Travel",
            r"hotel|hostel|airbnb|airline|airways|flight|booking|reservation|resort|\binn\b|motel|travel|vuelo|viaje|voo|viagem|vol\b|voyage|reise|flug|reis\b|viaggio|volo|旅行|ホテル",
        ),
        (
            "Groceries",
            r"supermarket|supermercado|supermarch|supermarkt|grocery|groceries|market|\bmart\b|provisions|épicerie|fromagerie|lebensmittel|alimentari|mercado|kirana|スーパー",
        ),
        (
            "Health",
            r"pharmacy|farmacia|farmácia|pharmacie|apotheke|apotheek|drugstore|clinic|hospital|medical|dental|doctor|health|薬局|病院",
        ),
        (
            "Bills & Utilities",
            r"electric|power|utility|utilities|\bwater\b|\bgas & |internet|broadband|mobile|phone bill|telecom|insurance|\brent\b|strom|stadtwerke|luz|energ|eau|acqua|bolletta|電気|ガス|水道",
        ),
        (
            "Entertainment",
            r"cinema|movie|theatre|theater|concert|ticket|games?|gaming|streaming|music|kino|cine|spotify|映画",
        ),
        (
            "Shopping",
            r"order|electronics|furniture|store|shop|boutique|mall|fashion|clothing|apparel|books?|librair|buchhandlung|libreria|livraria|家電",
        ),
    ];
    let names = table.iter().map(|(name, _)| *name).collect();
    (names, table.iter().map(|(_, re)| Rule::new(re)).collect())
});

/// Every rule of this module, for the keyword pass.
pub(crate) fn rules() -> Vec<&'static Rule> {
    RULES.1.iter().chain([&*SALARY, &*REFUND, &*TRANSFER]).collect()
}

/// The first rule matching a merchant name.
fn first_rule_in(name: &str) -> Option<&'static str> {
    let (names, rules) = &*RULES;
    let hits = Hits::new(name, 0, 0);
    let mut scratch = None;
    let present = hits.within(0..name.len(), &mut scratch);
    rules.iter().position(|rule| rule.is_match_in(present, name, 0..name.len())).map(|i| names[i])
}

/// The first rule matching the email's text.
fn first_rule(doc: &Doc) -> Option<&'static str> {
    let (names, rules) = &*RULES;
    let mut scratch = None;
    let present = doc.hits.within(doc.all(), &mut scratch);
    rules.iter().position(|rule| rule.is_match_in(present, &doc.lower, doc.all())).map(|i| names[i])
}

static SALARY: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(r"salary|payroll|wages|salaris|gehalt|lohn|nómina|sueldo|salário|salaire|stipendio|給与|वेतन")
});
static REFUND: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(r"refund|reversal|reembolso|estorno|remboursement|erstattung|terugbetaling|rimborso|返金")
});
static TRANSFER: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(
        r"\bupi\b|\bimps\b|\bneft\b|\brtgs\b|transfer|\bpix\b|paynow|e-transfer|interac|osko|payid|\bsepa\b|zelle|bizum|\bvpa\b|virement|überweisung|overboeking|bonifico|transferencia|transferência|sent you|you('ve| have)? sent|you paid|振込",
    )
});

/// The hint for a transaction; `merchant` is lower case.
pub(crate) fn category(kind: TransactionType, merchant: &str, doc: &Doc) -> &'static str {
    let all = doc.all();
    if kind == TransactionType::Income {
        if SALARY.is_match(doc, all.clone()) {
            return "Salary";
        }
        if REFUND.is_match(doc, all.clone()) {
            return "Refunds";
        }
        if TRANSFER.is_match(doc, all) {
            return "Transfers";
        }
        return "Other income";
    }
    if let Some(name) = first_rule_in(merchant) {
        return name;
    }
    match first_rule(doc) {
        Some(name) => name,
        None if TRANSFER.is_match(doc, all) => "Transfers",
        None => "Other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TransactionType::{Expense, Income};

    #[test]
    fn hints() {
        let cases = [
            (Income, "acme ltd", "neft salary jan", "Salary"),
            (Income, "shop", "a refund of $5", "Refunds"),
            (Income, "sam", "sam sent you $5 by interac e-transfer", "Transfers"),
            (Income, "bank", "interest paid into your saver", "Other income"),
            (Expense, "bank atm", "atm withdrawal", "Cash"),
            (Expense, "streamly", "your monthly subscription receipt", "Subscriptions"),
            (Expense, "corner cafe", "upi payment", "Dining"),
            (Expense, "ridely", "thanks for riding, your trip fare", "Transport"),
            (Expense, "hotel alpina", "payment receipt", "Travel"),
            (Expense, "supermercados sol", "compra", "Groceries"),
            (Expense, "farmacia central", "compra", "Health"),
            (Expense, "city power & light", "automatic payment", "Bills & Utilities"),
            (Expense, "sam lee", "you paid sam lee $5", "Transfers"),
            (Expense, "gadgetco", "order total $10", "Shopping"),
            (Expense, "zzz", "zzz", "Other"),
        ];
        for (kind, merchant, text, expected) in cases {
            let doc = Doc::new(text, "", "");
            assert_eq!(category(kind, merchant, &doc), expected, "{merchant} / {text}");
        }
    }
}
