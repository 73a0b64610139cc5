CREATE TABLE renders (
    id               text PRIMARY KEY,
    workspace_id     text NOT NULL,
    status           text NOT NULL CHECK (status IN ('ingesting', 'queued', 'processing', 'completed', 'failed', 'cancelled')),
    spec             jsonb NOT NULL,
    metadata         jsonb NOT NULL DEFAULT '{}',
    webhook_url      text,
    warnings         jsonb NOT NULL DEFAULT '[]',
    -- Output seconds the spec asks for: the quota estimate, reconciled with the real output.
    duration         double precision NOT NULL,
    progress_percent double precision NOT NULL DEFAULT 0,
    progress_stage   text,
    -- {key, poster_key, width, height, duration, size_bytes}: storage keys, signed at read time.
    output           jsonb,
    error            jsonb,
    attempts         integer NOT NULL DEFAULT 0,
    worker_id        text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz
);
CREATE INDEX renders_by_workspace ON renders (workspace_id, created_at DESC, id DESC);
CREATE INDEX renders_by_workspace_status ON renders (workspace_id, status, created_at DESC, id DESC);
