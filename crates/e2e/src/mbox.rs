//! Mailboxes for the end-to-end runs: bank alerts the rule engine reads (several banks, layouts,
//! languages and currencies, expenses and income), each with a unique `Message-ID`, written as
//! mboxrd the way `demo/make_mailbox.py` writes the demo mailbox, with what each one should
//! book.
//!
//! Every generated email holds exactly one transaction, so a run knows exactly what the ledger
//! must hold afterwards: one row per email, the amounts below. The layouts follow the demo
//! mailbox and the services' own benchmarks; `tests::every_generated_alert_reads_as_generated`
//! checks them against the rule engine.

use std::fmt::Write as _;

use rust_decimal::Decimal;

/// A transaction an email states, as the ledger should book it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Expected {
    /// The amount, by value (`12.5` and `12.50` are the same).
    pub amount: Decimal,
    /// ISO 4217 code.
    pub currency: String,
    /// `income` or `expense`.
    pub kind: String,
}

impl Expected {
    /// A transaction from the wire's strings (an amount that is not a decimal is a bug in the
    /// caller's data, reported as an error).
    pub fn parse(amount: &str, currency: &str, kind: &str) -> anyhow::Result<Self> {
        Ok(Self {
            amount: amount
                .parse::<Decimal>()
                .map_err(|e| anyhow::anyhow!("amount {amount:?}: {e}"))?
                .normalize(),
            currency: currency.to_owned(),
            kind: kind.to_owned(),
        })
    }
}

/// One generated email.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The `Message-ID`, without angle brackets.
    pub message_id: String,
    /// The transaction it states.
    pub expected: Expected,
    /// The message as it appears in the mbox (its `From ` separator line included).
    pub mbox_entry: String,
}

/// A layout: sender, subject and body with `{amount}`, `{merchant}`, `{MERCHANT}` (upper case),
/// `{last4}` and `{date}` placeholders, and what it states.
struct Layout {
    sender: &'static str,
    address: &'static str,
    subject: &'static str,
    body: &'static str,
    currency: &'static str,
    kind: &'static str,
    /// Minor digits of the currency.
    minor: u32,
}

const LAYOUTS: [Layout; 5] = [
    // The demo's Larkspur card alert (demo/mailbox.mbox, message 1).
    Layout {
        sender: "Larkspur Bank Alerts",
        address: "alerts@larkspurbank.example",
        subject: "Larkspur Bank: ${amount} card purchase at {MERCHANT}",
        body: "Hi Robin,\n\nYour Larkspur Everyday Visa card ending in {last4} was just used.\n\n  \
               Merchant:    {MERCHANT}\n  Amount:      ${amount}\n  Date/time:   {date}\n\n\
               Nothing to do if this was you. If it wasn't, call 1-555-0188 any time or\n\
               freeze the card in the Larkspur app.\n\n\
               Larkspur Bank - alerts you asked for, nothing you didn't.\n",
        currency: "USD",
        kind: "expense",
        minor: 2,
    },
    Layout {
        sender: "Harbor Bank",
        address: "alerts@harborbank.example",
        subject: "Card payment of EUR {amount}",
        body: "Your card ending {last4} was charged EUR {amount} at {merchant}.\n\nHarbor Bank\n",
        currency: "EUR",
        kind: "expense",
        minor: 2,
    },
    Layout {
        sender: "Kestrel Bank",
        address: "hello@kestrelbank.example",
        subject: "Money received",
        body: "You received GBP {amount} from {merchant}. It is now in your account ending {last4}.\n\n\
               Kestrel Bank\n",
        currency: "GBP",
        kind: "income",
        minor: 2,
    },
    Layout {
        sender: "Banco Almendro",
        address: "avisos@bancoalmendro.example",
        subject: "Compra con tarjeta",
        body: "Se ha realizado una compra de {amount} EUR en {merchant} con su tarjeta terminada en {last4}.\n\n\
               Banco Almendro\n",
        currency: "EUR",
        kind: "expense",
        minor: 2,
    },
    Layout {
        sender: "Hafenbank Hamburg",
        address: "service@hafenbank.example",
        subject: "Kartenzahlung",
        body: "Ihre Karte ****{last4} wurde mit {amount} EUR bei {merchant} belastet.\n\nHafenbank Hamburg\n",
        currency: "EUR",
        kind: "expense",
        minor: 2,
    },
];

const MERCHANTS: [&str; 12] = [
    "Copper Kettle Cafe",
    "Corner Books",
    "Metro Fuel",
    "Green Grocer",
    "Trattoria Sole",
    "Harbor Pharmacy",
    "Blue Fern Bakery",
    "Northside Hardware",
    "Lumen Cinema",
    "Pinecrest Market",
    "Atlas Taxi",
    "Willow Florist",
];

/// The `i`-th alert of a run; `run` keeps Message-IDs apart between runs and imports.
pub fn alert(run: &str, i: usize) -> Alert {
    let layout = &LAYOUTS[i % LAYOUTS.len()];
    let merchant = MERCHANTS[(i / LAYOUTS.len()) % MERCHANTS.len()];
    // Amounts vary over 1.00 .. 2,000.99 in the currency's minor unit.
    let whole = 1 + (i * 7919) % 2000;
    let cents = (i * 37) % 100;
    let amount = if layout.minor == 0 { whole.to_string() } else { format!("{whole}.{cents:02}") };
    let last4 = format!("{:04}", 1000 + (i * 13) % 9000);
    // Spread over October and November 2026, at a minute of its own.
    let day = 1 + (i / 1440) % 28;
    let month = if (i / (1440 * 28)).is_multiple_of(2) { 10 } else { 11 };
    let (hour, minute) = ((i / 60) % 24, i % 60);
    let date_text =
        format!("{} {day}, 2026 at {hour:02}:{minute:02} UTC", if month == 10 { "Oct" } else { "Nov" });
    let fill = |text: &str| {
        text.replace("{amount}", &amount)
            .replace("{MERCHANT}", &merchant.to_uppercase())
            .replace("{merchant}", merchant)
            .replace("{last4}", &last4)
            .replace("{date}", &date_text)
    };
    let message_id = format!("{run}.{i}@e2e.penny.example");
    let weekday = "Mon"; // the separator's day name is informational; readers ignore it
    let month_name = if month == 10 { "Oct" } else { "Nov" };
    let mut entry = String::with_capacity(1024);
    // Writing to a String cannot fail.
    let _ = write!(
        entry,
        "From {address} {weekday} {month_name} {day:2} {hour:02}:{minute:02}:00 2026\n\
         Message-ID: <{message_id}>\n\
         Date: {day:02} {month_name} 2026 {hour:02}:{minute:02}:00 +0000\n\
         From: {sender} <{address}>\n\
         To: Robin Hale <robin.hale@e2e.penny.example>\n\
         Subject: {subject}\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=\"utf-8\"\n\
         Content-Transfer-Encoding: 7bit\n\
         \n\
         {body}\n",
        address = layout.address,
        sender = layout.sender,
        subject = fill(layout.subject),
        body = fill(layout.body),
    );
    let expected = Expected {
        amount: amount.parse::<Decimal>().unwrap_or_default().normalize(),
        currency: layout.currency.to_owned(),
        kind: layout.kind.to_owned(),
    };
    Alert { message_id, expected, mbox_entry: entry }
}

/// `count` alerts numbered from `start`, as one mbox, with what they state.
pub fn mailbox(run: &str, start: usize, count: usize) -> (Vec<u8>, Vec<Expected>) {
    let mut mbox = String::with_capacity(count * 700);
    let mut expected = Vec::with_capacity(count);
    for i in start..start + count {
        let alert = alert(run, i);
        mbox.push_str(&alert.mbox_entry);
        expected.push(alert.expected);
    }
    (mbox.into_bytes(), expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits an mboxrd file the way mail-ingest does (no `>From` lines are generated here).
    fn split(mbox: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut after_blank = true;
        for line in mbox.split_inclusive('\n') {
            if after_blank && line.starts_with("From ") {
                out.push(String::new());
                after_blank = false;
                continue;
            }
            if let Some(current) = out.last_mut() {
                current.push_str(line);
            }
            after_blank = line == "\n";
        }
        out
    }

    #[test]
    fn every_generated_alert_reads_as_generated() {
        let (mbox, expected) = mailbox("unit", 0, 600);
        let messages = split(std::str::from_utf8(&mbox).unwrap());
        assert_eq!(messages.len(), expected.len());
        let mut problems = Vec::new();
        for (i, (raw, want)) in messages.iter().zip(&expected).enumerate() {
            let parsed = penny_mailtext::parse_message(raw.as_bytes()).unwrap();
            let email = penny_rules::Email {
                subject: &parsed.subject,
                from: &parsed.from,
                received_at: parsed.date_local.unwrap(),
                body: &parsed.text,
            };
            match penny_rules::extract(&email) {
                penny_rules::Extraction::Transactions(txs) if txs.len() == 1 => {
                    let got = Expected {
                        amount: txs[0].money.amount().normalize(),
                        currency: txs[0].money.currency().code().to_owned(),
                        kind: txs[0].kind.to_string(),
                    };
                    if &got != want {
                        problems.push(format!("#{i} {:?}: got {got:?}, want {want:?}", parsed.subject));
                    }
                }
                other => problems.push(format!("#{i} {:?}: {other:?}", parsed.subject)),
            }
        }
        assert!(problems.is_empty(), "{} of 600 misread:\n{}", problems.len(), problems.join("\n"));
    }

    #[test]
    fn message_ids_are_unique_within_and_across_runs() {
        let a: std::collections::HashSet<String> = (0..3000).map(|i| alert("a", i).message_id).collect();
        assert_eq!(a.len(), 3000);
        assert_ne!(alert("a", 1).message_id, alert("b", 1).message_id);
    }
}
