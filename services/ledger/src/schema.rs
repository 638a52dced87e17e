//! The diesel description of the `ledger` schema (`migrations/ledger/`).

diesel::table! {
    /// A user's categories.
    categories (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        #[sql_name = "type"]
        kind -> Text,
        is_system -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Ledger transactions.
    transactions (id) {
        id -> Uuid,
        user_id -> Uuid,
        amount -> Numeric,
        currency -> Text,
        #[sql_name = "type"]
        kind -> Text,
        occurred_at -> Timestamptz,
        category_id -> Nullable<Uuid>,
        category_by_user -> Bool,
        merchant -> Nullable<Text>,
        notes -> Nullable<Text>,
        account_hint -> Nullable<Text>,
        source -> Text,
        external_id -> Nullable<Text>,
        email_id -> Nullable<Uuid>,
        confidence -> Nullable<Numeric>,
        needs_review -> Bool,
        user_edited -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Categorisation rules.
    rules (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        match_field -> Text,
        match_kind -> Text,
        pattern -> Text,
        min_amount -> Nullable<Numeric>,
        max_amount -> Nullable<Numeric>,
        #[sql_name = "type"]
        kind -> Nullable<Text>,
        category_id -> Uuid,
        priority -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(transactions -> categories (category_id));
diesel::joinable!(rules -> categories (category_id));
diesel::allow_tables_to_appear_in_same_query!(categories, transactions, rules);
