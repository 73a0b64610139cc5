-- Idempotency-Key of the other POSTs (framelane_core.idempotency.ResponseStore): the response of
-- the first request, replayed for 24 h. A row without a response is a request still in flight.
CREATE TABLE idempotent_responses (
    workspace_id text NOT NULL,
    method       text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, method, key)
);
