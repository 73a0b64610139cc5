CREATE TABLE workspaces (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    plan       text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'enterprise')),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

-- Keys are stored as SHA-256 of the plaintext (they carry 190 bits of randomness, so a fast hash
-- is enough); the plaintext is shown once, at creation.
CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    workspace_id text NOT NULL REFERENCES workspaces (id),
    name         text NOT NULL,
    key_prefix   text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, created_at DESC, id DESC);
