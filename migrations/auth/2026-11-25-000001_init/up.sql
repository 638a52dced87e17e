-- Roles for access control; every new user is `user`, admins are made by an operator.
CREATE TABLE roles (
    name       TEXT PRIMARY KEY CHECK (name IN ('admin', 'user')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO roles (name) VALUES ('admin'), ('user');
