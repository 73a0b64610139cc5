-- Idempotency-Key of job-creating POSTs: scoped to (workspace, method, key), kept 24 h.
CREATE TABLE idempotency_keys (
    workspace_id text NOT NULL,
    method       text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    resource_id  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, method, key)
);
