CREATE TABLE tasks (
    id               text PRIMARY KEY,
    workspace_id     text NOT NULL,
    -- Underscored type (transcribe, super_resolution, ...).
    task_type        text NOT NULL,
    status           text NOT NULL CHECK (status IN ('ingesting', 'queued', 'processing', 'completed', 'failed', 'cancelled')),
    -- Normalized parameters (defaults applied), without metadata and webhook_url.
    params           jsonb NOT NULL,
    metadata         jsonb NOT NULL DEFAULT '{}',
    webhook_url      text,
    warnings         jsonb NOT NULL DEFAULT '[]',
    progress_percent double precision NOT NULL DEFAULT 0,
    progress_stage   text,
    -- Storage keys ({key, ...*_key}) and facts of the output, signed at read time.
    output           jsonb,
    error            jsonb,
    attempts         integer NOT NULL DEFAULT 0,
    worker_id        text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz
);
CREATE INDEX tasks_by_workspace ON tasks (workspace_id, created_at DESC, id DESC);
CREATE INDEX tasks_by_workspace_status ON tasks (workspace_id, status, created_at DESC, id DESC);
CREATE INDEX tasks_by_workspace_type ON tasks (workspace_id, task_type, created_at DESC, id DESC);
