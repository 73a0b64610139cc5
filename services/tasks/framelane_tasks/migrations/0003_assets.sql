-- Media ingestion (reference §A7): direct uploads and imports of public URLs. A row is `pending`
-- until its bytes are stored (an upload waits for its PUT), `processing` while the background
-- runner imports and/or probes it, then `ready` (listed as a workspace asset) or `failed`.
CREATE TABLE assets (
    id            text PRIMARY KEY,
    workspace_id  text NOT NULL,
    origin        text NOT NULL CHECK (origin IN ('upload', 'import')),
    status        text NOT NULL CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    storage_key   text NOT NULL UNIQUE,
    content_type  text NOT NULL DEFAULT '',
    filename      text,
    -- The URL an import copies (imports only).
    url           text,
    kind          text,
    size_bytes    bigint,
    duration      double precision,
    width         integer,
    height        integer,
    codecs        jsonb NOT NULL DEFAULT '{}',
    -- Client-probed metadata sent with the upload (used when the server's probe finds none).
    client_meta   jsonb NOT NULL DEFAULT '{}',
    error         jsonb,
    attempts      integer NOT NULL DEFAULT 0,
    -- A runner's claim; a claim older than the lease is taken over (a crashed runner).
    claimed_at    timestamptz,
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    ready_at      timestamptz
);
CREATE INDEX assets_ready_by_workspace ON assets (workspace_id, created_at DESC, id DESC) WHERE status = 'ready';
CREATE INDEX assets_processing ON assets (created_at) WHERE status = 'processing';
