-- Integer credits (BeatAPI's launch model). Every movement is one row; balances are sums, never
-- stored. reserve: -n when a job is accepted; settle: +(reserved - charged) when it succeeds;
-- refund: +reserved when it fails; grant: +n (purchases, grants). One row per (job, kind).
CREATE TABLE credit_ledger (
    id           bigserial PRIMARY KEY,
    workspace_id text NOT NULL,
    job_id       text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('grant', 'reserve', 'settle', 'refund')),
    amount       bigint NOT NULL,
    -- settle: the credits charged (amount is what went back); others: null.
    charged      bigint,
    reason       text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (job_id, kind)
);
CREATE INDEX credit_ledger_by_workspace ON credit_ledger (workspace_id);
