//! Expense or income, from the wording: debited/credited, spent, received, refund, cargo/abono,
//! débit/crédit, Abbuchung/Gutschrift, addebito/accredito, ご利用/入金, Hindi-English alerts …

use std::sync::LazyLock;

use penny_contract::TransactionType;

use crate::prefilter::Rule;
use crate::text::Doc;

static INCOME: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(
        r"credited|credit(ed)? (to|in|into) (your|a/c|ac\b|account)|credit alert|\bcr\b|\breceived\b|you('ve| have)? received|sent you|deposited|deposit(ed)? (in)?to|refund|reversal|reversed|cashback (credited|received)|interest (paid|credited|earned)|paid (?:[^.\n]|\.\d){0,30}into\b|\bsalary\b|payroll|bijschrijving|bijgeschreven|ontvangen|gutschrift|gutgeschrieben|zahlungseingang|geldeingang|eingegangen|\babono\b|abonad[oa]|recibiste|has recibido|transferencia recibida|reembolso|devoluci[óo]n|recebeu|recebid[oa]|estorno|vous avez reçu|virement reçu|remboursement|crédité|accredit|hai ricevuto|ricevuto|rimborso|入金|返金|振込がありました|credit (hue|hua|kiye|kiya|ho)|जमा|प्राप्त|salaris|gehalt|nómina|salário|salaire|stipendio",
    )
});

static EXPENSE: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(
        r"debited|debit(ed)? from|\bdr\b|\bspent\b|you('ve| have)? (just )?(paid|sent|spent)|payment (of|to|sent|made)|purchase|paid to|paid with|\bcharged\b|withdrawn|withdrawal|\batm\b|autopay|automatic payment|direct debit|transfer to|we('ve| have)? received your|payment received|thanks? (you )?for your (payment|order|purchase)|order total|\bcargo\b|cargad[oa]|\bcompra\b|pago (de|a|con)|\bretiro\b|debitad[oa]|pagamento|\bsaque\b|transferência enviada|débité|achat|paiement|retrait|prélèvement|prélevé|abbuchung|abgebucht|belastung|belastet|lastschrift|kartenzahlung|\bzahlung\b|auszahlung|betaling|afgeschreven|opname|geïncasseerd|addebit|prelievo|ご利用|お支払|引き落とし|引落|出金|debit (hue|hua|kiye|kiya)|kat gaye|निकासी|डेबिट|खर्च",
    )
});

/// Every rule of this module, for the keyword pass.
pub(crate) fn rules() -> Vec<&'static Rule> {
    vec![&*INCOME, &*EXPENSE, &*REFUND]
}

/// The direction, and whether the wording settled it (rather than the default, expense).
pub(crate) fn direction(doc: &Doc, amount_at: usize) -> (TransactionType, bool) {
    let subject = doc.subject();
    let (line_start, line_end) = doc.line_at(amount_at);
    let window_start = doc.lower[..line_start.saturating_sub(1)].rfind('\n').map_or(0, |i| i + 1);
    let near = window_start..line_end;
    let body = doc.body();
    let count = |rule: &Rule, range: std::ops::Range<usize>| {
        if rule.may_match(doc, range.clone()) { rule.regex().find_iter(&doc.lower[range]).count() } else { 0 }
    };
    // The subject and the amount's lines count every cue; the rest of the body only whether it
    // has one (counting there would cost a full scan per match for little signal).
    let score = |rule: &Rule| {
        3 * count(rule, subject.clone())
            + 2 * count(rule, near.clone())
            + usize::from(rule.is_match(doc, body.clone()))
    };
    // A refund or reversal is money coming back whatever verbs surround it (asked first: it
    // makes the scores moot).
    if REFUND.is_match(doc, subject.clone()) || REFUND.is_match(doc, near.clone()) {
        return (TransactionType::Income, true);
    }
    let (income, expense) = (score(&INCOME), score(&EXPENSE));
    if income > expense { (TransactionType::Income, true) } else { (TransactionType::Expense, expense > 0) }
}

pub(crate) static REFUND: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(
        r"refund|reversal|reembolso|estorno|remboursement|erstattung|rückerstattung|terugbetaling|rimborso|返金",
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(subject: &str, body: &str) -> TransactionType {
        let doc = Doc::new(subject, "", body);
        let at = doc.body_start;
        direction(&doc, at).0
    }

    #[test]
    fn wording_in_every_language() {
        use TransactionType::{Expense, Income};
        let cases = [
            ("", "Rs 500.00 debited from A/c XX1234 on 01-02-26", Expense),
            ("", "Your A/c XX1234 is credited with INR 900.00 by NEFT", Income),
            ("", "You spent $12.00 at Corner Deli", Expense),
            ("", "Sam sent you $20.00", Income),
            ("", "You've sent $20.00 to Sam", Expense),
            ("Refund issued", "A refund of $5.00 was posted to your card ending 1111", Income),
            ("", "Se ha realizado un cargo de 20,00 € en tu tarjeta", Expense),
            ("", "Has recibido un abono de 300,00 € en tu cuenta", Income),
            ("", "Você recebeu um Pix de R$ 50,00", Income),
            ("", "Compra aprovada de R$ 50,00 no seu cartão", Expense),
            ("", "Un paiement de 12,00 € a été débité de votre compte", Expense),
            ("", "Un virement reçu de 100,00 € a été crédité sur votre compte", Income),
            ("", "Abbuchung von 30,00 € von Ihrem Konto", Expense),
            ("", "Gutschrift: 2.000,00 € wurden Ihrem Konto gutgeschrieben", Income),
            ("", "Er is € 40,00 afgeschreven van je rekening", Expense),
            ("", "Er is € 40,00 bijgeschreven op je rekening", Income),
            ("", "Addebito di 15,00 € sulla tua carta", Expense),
            ("", "Accredito di 500,00 € sul tuo conto", Income),
            ("", "カードご利用のお知らせ 3,000円", Expense),
            ("", "お振込による入金がありました 50,000円", Income),
            ("", "Aapke khaate se ₹200 debit kiye gaye hain", Expense),
            ("", "Aapke khaate mein ₹200 credit kiye gaye hain", Income),
            ("", "We've received your payment of $10.00. Total charged $10.00", Expense),
            ("", "We've paid £1.20 interest into your saver", Income),
        ];
        for (subject, body, expected) in cases {
            assert_eq!(dir(subject, body), expected, "{body}");
        }
    }
}
