//! Every enum of `DESIGN.md`, spelt on the wire and in the database as the seed spells them:
//! statuses in upper case, kinds in lower case.

use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumIter, EnumString, IntoStaticStr};

/// Adds TEXT (de)serialisation for diesel to enums that strum already spells.
macro_rules! text_sql {
    ($($name:ident),+ $(,)?) => {$(
        #[cfg(feature = "diesel")]
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                use std::io::Write as _;
                out.write_all(self.as_ref().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        #[cfg(feature = "diesel")]
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = std::str::from_utf8(bytes.as_bytes())?;
                text.parse().map_err(|_| format!("unexpected {} `{text}`", stringify!($name)).into())
            }
        }
    )+};
}

macro_rules! wire_enum {
    ($case:literal, $(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize,
            AsRefStr, Display, EnumString, IntoStaticStr, EnumIter,
        )]
        #[cfg_attr(feature = "diesel", derive(diesel::AsExpression, diesel::FromSqlRow))]
        #[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = $case)]
        #[strum(serialize_all = $case)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        text_sql!($name);
    };
}

wire_enum!("lowercase",
    /// A user's role.
    Role { Admin, User });

wire_enum!("lowercase",
    /// What a category may hold.
    CategoryType { Income, Expense, Both });

wire_enum!("lowercase",
    /// The direction of a transaction; amounts are always positive.
    TransactionType { Income, Expense });

impl CategoryType {
    /// Whether a transaction of this direction fits the category.
    pub fn accepts(self, kind: TransactionType) -> bool {
        matches!(
            (self, kind),
            (CategoryType::Both, _)
                | (CategoryType::Income, TransactionType::Income)
                | (CategoryType::Expense, TransactionType::Expense)
        )
    }
}

wire_enum!("lowercase",
    /// Where a ledger transaction came from. Mail is booked with its account's provider.
    TransactionSource { Manual, Api, Import, Gmail, Outlook, Imap, Upload });

wire_enum!("lowercase",
    /// The kind of a connected mailbox.
    Provider { Gmail, Outlook, Imap, Upload, Other });

impl From<Provider> for TransactionSource {
    fn from(provider: Provider) -> Self {
        match provider {
            Provider::Gmail => TransactionSource::Gmail,
            Provider::Outlook => TransactionSource::Outlook,
            Provider::Imap => TransactionSource::Imap,
            // Mail from any other mailbox is booked like an upload: it came from a file or a
            // source Penny has no fetcher for.
            Provider::Upload | Provider::Other => TransactionSource::Upload,
        }
    }
}

wire_enum!("SCREAMING_SNAKE_CASE",
    /// The state of a connected mailbox.
    AccountStatus { Active, ReauthRequired, Revoked });

wire_enum!("SCREAMING_SNAKE_CASE",
    /// `emails.extraction_status`.
    EmailExtractionStatus { Pending, Completed, Skipped, Failed });

wire_enum!("SCREAMING_SNAKE_CASE",
    /// The outcome of one extraction attempt (`email_extractions.status`, `email.extracted`).
    ExtractionOutcome { Success, Skipped, Failed });

impl From<ExtractionOutcome> for EmailExtractionStatus {
    fn from(outcome: ExtractionOutcome) -> Self {
        match outcome {
            ExtractionOutcome::Success => EmailExtractionStatus::Completed,
            ExtractionOutcome::Skipped => EmailExtractionStatus::Skipped,
            ExtractionOutcome::Failed => EmailExtractionStatus::Failed,
        }
    }
}

wire_enum!("SCREAMING_SNAKE_CASE",
    /// The kind of a job in the registry.
    JobType { EmailFetch, EmailExtraction, EmailReprocess });

wire_enum!("SCREAMING_SNAKE_CASE",
    /// What started a job.
    TriggeredBy { Cron, Manual, Api, Retry });

wire_enum!("SCREAMING_SNAKE_CASE",
    /// A job's lifecycle: QUEUED → RUNNING → SUCCESS | FAILED | CANCELLED.
    JobStatus { Queued, Running, Success, Failed, Cancelled });

impl JobStatus {
    /// SUCCESS, FAILED and CANCELLED are final.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Success | JobStatus::Failed | JobStatus::Cancelled)
    }

    /// Whether a job may move from `self` to `next`. Jobs only move forward, so a late or
    /// repeated event can never take a job back; a QUEUED job may be cancelled or fail before it
    /// runs.
    pub fn can_become(self, next: JobStatus) -> bool {
        match self {
            JobStatus::Queued => next != JobStatus::Queued,
            JobStatus::Running => next.is_terminal(),
            _ => false,
        }
    }
}

wire_enum!("lowercase",
    /// How an IMAP connection is secured.
    TlsMode { Implicit, Starttls, None });

wire_enum!("lowercase",
    /// The transaction field a categorisation rule looks at.
    MatchField { Merchant, Notes });

wire_enum!("lowercase",
    /// How a categorisation rule matches its pattern.
    MatchKind { Contains, Equals, Regex });

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    fn round_trip<T>(expected: &[&str])
    where
        T: IntoEnumIterator
            + Serialize
            + for<'de> Deserialize<'de>
            + AsRef<str>
            + std::str::FromStr
            + PartialEq
            + std::fmt::Debug,
        <T as std::str::FromStr>::Err: std::fmt::Debug,
    {
        let spelled: Vec<String> = T::iter().map(|v| v.as_ref().to_owned()).collect();
        assert_eq!(spelled, expected);
        for value in T::iter() {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(json, format!("\"{}\"", value.as_ref()));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
            assert_eq!(value.as_ref().parse::<T>().unwrap(), value);
        }
    }

    #[test]
    fn every_enum_keeps_the_seed_spelling() {
        round_trip::<Role>(&["admin", "user"]);
        round_trip::<CategoryType>(&["income", "expense", "both"]);
        round_trip::<TransactionType>(&["income", "expense"]);
        round_trip::<TransactionSource>(&["manual", "api", "import", "gmail", "outlook", "imap", "upload"]);
        round_trip::<Provider>(&["gmail", "outlook", "imap", "upload", "other"]);
        round_trip::<AccountStatus>(&["ACTIVE", "REAUTH_REQUIRED", "REVOKED"]);
        round_trip::<EmailExtractionStatus>(&["PENDING", "COMPLETED", "SKIPPED", "FAILED"]);
        round_trip::<ExtractionOutcome>(&["SUCCESS", "SKIPPED", "FAILED"]);
        round_trip::<JobType>(&["EMAIL_FETCH", "EMAIL_EXTRACTION", "EMAIL_REPROCESS"]);
        round_trip::<TriggeredBy>(&["CRON", "MANUAL", "API", "RETRY"]);
        round_trip::<JobStatus>(&["QUEUED", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"]);
        round_trip::<TlsMode>(&["implicit", "starttls", "none"]);
        round_trip::<MatchField>(&["merchant", "notes"]);
        round_trip::<MatchKind>(&["contains", "equals", "regex"]);
    }

    #[test]
    fn other_spellings_are_rejected() {
        assert!(serde_json::from_str::<JobStatus>("\"queued\"").is_err());
        assert!(serde_json::from_str::<TransactionType>("\"EXPENSE\"").is_err());
        assert!(serde_json::from_str::<Provider>("\"yahoo\"").is_err());
        assert!("Admin".parse::<Role>().is_err());
    }

    #[test]
    fn jobs_only_move_forward() {
        use JobStatus::*;
        assert!(Queued.can_become(Running));
        assert!(Queued.can_become(Cancelled));
        assert!(Running.can_become(Success));
        assert!(Running.can_become(Failed));
        assert!(!Running.can_become(Queued));
        assert!(!Running.can_become(Running));
        for terminal in [Success, Failed, Cancelled] {
            for next in JobStatus::iter() {
                assert!(!terminal.can_become(next), "{terminal} -> {next}");
            }
        }
    }

    #[test]
    fn mail_is_booked_with_its_provider() {
        assert_eq!(TransactionSource::from(Provider::Imap), TransactionSource::Imap);
        assert_eq!(TransactionSource::from(Provider::Upload), TransactionSource::Upload);
        assert!(CategoryType::Both.accepts(TransactionType::Income));
        assert!(!CategoryType::Income.accepts(TransactionType::Expense));
    }
}
