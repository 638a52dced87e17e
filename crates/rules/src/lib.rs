//! Penny's default extractor: a pure, offline rule engine that reads bank alerts and receipts.
//!
//! [`extract`] takes one decoded email ([`Email`]) and answers either the transactions it states
//! or why it is not a transaction ([`SkipReason`]). The rules are general — they describe how
//! banks and shops word things in English, Spanish, Portuguese, French, German, Dutch, Italian,
//! Japanese and Indian Hindi-English — and never name a sender. Modules, in the order the engine
//! uses them:
//!
//! - `text`: normalises the subject and body once (spaces, full-width forms, a lower-case copy);
//! - `prefilter`: one keyword pass per email, so rules whose keywords are absent are skipped;
//! - `classify`: the skip rules (codes, refusals, reminders, promotions, notices …);
//! - `locale`, `currency`, `amount`, `mention`: money mentions and their currencies;
//! - `role`: what each mention is (the amount, a total, a balance, a fee …);
//! - `direction`, `date`, `fields`, `merchant`, `account`, `category`: the rest of a transaction;
//! - [`eval`]: scoring against a labelled corpus, shared by the corpus test and the eval example.

mod account;
mod amount;
mod category;
mod classify;
mod currency;
mod date;
mod direction;
mod engine;
pub mod eval;
mod fields;
mod locale;
mod mention;
mod merchant;
mod prefilter;
mod role;
mod text;

pub use amount::parse_number;
pub use classify::SkipReason;
pub use engine::{Email, Extraction, extract};

/// The version of the rule set, recorded with every extraction; bump it when rules change.
pub const VERSION: &str = "rules-2026.11.1";
