//! Diesel table definitions of `migrations/auth/`.

diesel::table! {
    /// Accounts.
    users (id) {
        id -> Uuid,
        name -> Text,
        username -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Login sessions.
    token_families (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Refresh tokens, hashed.
    refresh_tokens (id) {
        id -> Uuid,
        family_id -> Uuid,
        token_hash -> Bytea,
        access_jti -> Uuid,
        created_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Password reset codes, hashed.
    password_reset_codes (id) {
        id -> Uuid,
        user_id -> Uuid,
        code_hash -> Bytea,
        attempts -> Int4,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// Failed logins per account (or per unknown login).
    login_failures (key) {
        key -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
    }
}

diesel::joinable!(refresh_tokens -> token_families (family_id));
diesel::joinable!(token_families -> users (user_id));
diesel::joinable!(password_reset_codes -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, token_families, refresh_tokens, password_reset_codes);

diesel::define_sql_function! {
    /// SQL `lower(text)`, matching the case-insensitive unique indexes.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
