-- Signup: a workspace made by POST /v1/signup stays unverified (its keys answer 403
-- email_not_verified) until the emailed code is verified. Existing workspaces are verified.
ALTER TABLE workspaces ADD COLUMN email text;
ALTER TABLE workspaces ADD COLUMN email_verified_at timestamptz;
UPDATE workspaces SET email_verified_at = created_at;
ALTER TABLE workspaces ALTER COLUMN email_verified_at SET DEFAULT now();

-- One pending (or done) verification per email. The code is stored as HMAC-SHA256 with a random
-- salt; wrong codes count towards a 15-minute lock that survives a new signup of the same email.
CREATE TABLE email_verifications (
    email           text PRIMARY KEY,
    workspace_id    text NOT NULL REFERENCES workspaces (id),
    code_salt       bytea NOT NULL,
    code_hash       bytea NOT NULL,
    expires_at      timestamptz NOT NULL,
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    verified_at     timestamptz,
    sent_at         timestamptz NOT NULL DEFAULT now()
);

-- Jobs holding one of the workspace's active-processing slots. Released by the job's terminal
-- event; a slot whose lease ran out (no event of the job for the lease period: a crashed worker)
-- is reclaimed at the next admission of the workspace.
CREATE TABLE active_jobs (
    job_id           text PRIMARY KEY,
    workspace_id     text NOT NULL,
    kind             text NOT NULL,
    lease_expires_at timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX active_jobs_by_workspace ON active_jobs (workspace_id, lease_expires_at);

-- Fixed one-minute windows of requests per (API key, rate class), shared by every replica of
-- every service. Replicas take tokens in batches, so a row is written once per batch, not per
-- request. Old windows are deleted as new ones are written.
CREATE UNLOGGED TABLE rate_windows (
    key_id       text NOT NULL,
    rate_class   text NOT NULL,
    window_start bigint NOT NULL,
    count        integer NOT NULL,
    PRIMARY KEY (key_id, rate_class, window_start)
);
