//! The diesel description of the `ingest` schema (`migrations/mail-ingest/`).

diesel::table! {
    /// Connected mailboxes; `secret` is AEAD ciphertext under `secret_key_id`.
    connected_accounts (id) {
        id -> Uuid,
        user_id -> Uuid,
        provider -> Text,
        email -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        settings -> Jsonb,
        secret_key_id -> Nullable<Text>,
        secret -> Nullable<Bytea>,
        last_fetched_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        fetch_interval_secs -> Nullable<Int4>,
        next_fetch_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Where each account's incremental fetch stands.
    fetch_cursors (account_id, mailbox) {
        account_id -> Uuid,
        mailbox -> Text,
        uid_validity -> Nullable<Int8>,
        last_uid -> Nullable<Int8>,
        sync_token -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Stored mail.
    emails (id) {
        id -> Uuid,
        user_id -> Uuid,
        account_id -> Uuid,
        provider -> Text,
        provider_message_id -> Text,
        subject -> Text,
        from_address -> Text,
        received_at -> Timestamptz,
        body_text -> Nullable<Text>,
        html_only -> Bool,
        checksum -> Text,
        size_bytes -> Int8,
        extraction_status -> Text,
        extraction_version -> Nullable<Text>,
        transactions_found -> Int4,
        body_purged_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        extracted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// The job registry.
    jobs (id) {
        id -> Uuid,
        user_id -> Uuid,
        account_id -> Nullable<Uuid>,
        job_type -> Text,
        status -> Text,
        triggered_by -> Text,
        parent_job_id -> Nullable<Uuid>,
        input_payload -> Jsonb,
        output_payload -> Jsonb,
        error_payload -> Nullable<Jsonb>,
        retry_count -> Int4,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        sealed_at -> Nullable<Timestamptz>,
        cancel_requested_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// The emails each extraction or reprocess job sent to extraction, and what came back.
    job_emails (job_id, email_id) {
        job_id -> Uuid,
        email_id -> Uuid,
        outcome -> Nullable<Text>,
        booked -> Bool,
    }
}

diesel::table! {
    /// Extraction versions announced by `extraction.started`.
    extraction_versions (version) {
        version -> Text,
        announced_at -> Timestamptz,
    }
}

diesel::table! {
    /// Pending OAuth authorizations, by the SHA-256 of their state.
    oauth_states (state_hash) {
        state_hash -> Bytea,
        user_id -> Uuid,
        provider -> Text,
        verifier_key_id -> Text,
        verifier -> Bytea,
        expires_at -> Timestamptz,
        consumed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(emails -> connected_accounts (account_id));
diesel::joinable!(fetch_cursors -> connected_accounts (account_id));
diesel::joinable!(job_emails -> jobs (job_id));
diesel::joinable!(job_emails -> emails (email_id));
diesel::allow_tables_to_appear_in_same_query!(
    connected_accounts,
    fetch_cursors,
    emails,
    jobs,
    job_emails,
    extraction_versions,
    oauth_states
);
