-- The workspace-level signing secret of native endpoints and job webhook_urls. Stored in clear:
-- signing needs the secret itself, not a hash of it.
CREATE TABLE workspace_secrets (
    workspace_id text PRIMARY KEY,
    secret       text NOT NULL,
    rotated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_endpoints (
    id               text PRIMARY KEY,
    workspace_id     text NOT NULL,
    face             text NOT NULL CHECK (face IN ('native', 'beatapi')),
    url              text NOT NULL,
    description      text NOT NULL DEFAULT '',
    -- Empty means every event of the face.
    events           text[] NOT NULL DEFAULT '{}',
    -- BeatAPI endpoints sign with their own secret; native ones with the workspace secret.
    secret           text,
    enabled          boolean NOT NULL DEFAULT true,
    disabled_reason  text,
    -- Start of the current run of failed attempts; cleared by any success.
    failing_since    timestamptz,
    last_delivery_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_by_workspace ON webhook_endpoints (workspace_id, created_at DESC, id DESC);

-- One event to one target. The body is stored as sent so every attempt carries the same bytes;
-- next_attempt_at is the schedule, and claiming a row pushes it forward by a lease, so a
-- delivery whose sender died is due again once the lease has passed.
CREATE TABLE deliveries (
    id              text PRIMARY KEY,
    workspace_id    text NOT NULL,
    -- NULL for a job's own webhook_url.
    endpoint_id     text REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- What the per-target concurrency limit counts: the endpoint id, or the URL.
    target          text NOT NULL,
    url             text NOT NULL,
    face            text NOT NULL CHECK (face IN ('native', 'beatapi')),
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    body            bytea NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead_lettered')),
    attempt_count   integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint_id, created_at DESC, id DESC);

CREATE TABLE delivery_attempts (
    delivery_id   text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    started_at    timestamptz NOT NULL,
    status_code   integer,
    latency_ms    integer NOT NULL,
    response_body text NOT NULL DEFAULT '',
    error         text,
    retry_at      timestamptz,
    PRIMARY KEY (delivery_id, attempt)
);

-- The highest 10 % step of progress sent per job, so progress events are coalesced.
CREATE TABLE progress_marks (
    job_id     text PRIMARY KEY,
    step       integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
