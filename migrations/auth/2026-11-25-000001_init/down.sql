DROP TABLE login_failures;
DROP TABLE password_reset_codes;
DROP TABLE refresh_tokens;
DROP TABLE token_families;
DROP TABLE users;
DROP TABLE roles;
