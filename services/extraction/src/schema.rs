//! The diesel description of the `extraction` schema (`migrations/extraction/`).

diesel::table! {
    /// Every extraction attempt of an email.
    email_extractions (id) {
        id -> Uuid,
        user_id -> Uuid,
        email_id -> Uuid,
        request_id -> Uuid,
        extraction_version -> Text,
        status -> Text,
        extracted_json -> Jsonb,
        model_used -> Nullable<Text>,
        prompt_hash -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Every LLM call, with its tokens and cost.
    llm_transactions (id) {
        id -> Uuid,
        user_id -> Uuid,
        email_id -> Nullable<Uuid>,
        job_id -> Nullable<Uuid>,
        request_id -> Nullable<Uuid>,
        model_name -> Text,
        provider -> Text,
        prompt_version -> Text,
        prompt_hash -> Text,
        status -> Text,
        error -> Nullable<Text>,
        input_tokens -> Int4,
        cached_input_tokens -> Int4,
        output_tokens -> Int4,
        total_tokens -> Int4,
        estimated_cost -> Numeric,
        price_version -> Text,
        latency_ms -> Int4,
        result_json -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}
