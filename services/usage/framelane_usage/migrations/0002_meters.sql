-- One row per metered quantity, written with the event that caused it (exactly once per event id
-- through processed_events). Usage over a period is a sum of these rows.
CREATE TABLE meter_readings (
    event_id     text NOT NULL,
    meter        text NOT NULL CHECK (meter IN ('render_minutes', 'tasks', 'egress_bytes')),
    workspace_id text NOT NULL,
    quantity     double precision NOT NULL,
    job_id       text,
    occurred_at  timestamptz NOT NULL,
    PRIMARY KEY (event_id, meter)
);
CREATE INDEX meter_readings_by_workspace ON meter_readings (workspace_id, meter, occurred_at);

-- Render minutes held by renders not finished yet, so two racing submits cannot both take the
-- last minutes of a cap. Settled (deleted) by the render's terminal event; a reservation whose
-- render never appeared (its create failed after admission) is dropped after an hour.
CREATE TABLE render_reservations (
    job_id       text PRIMARY KEY,
    workspace_id text NOT NULL,
    minutes      double precision NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX render_reservations_by_workspace ON render_reservations (workspace_id);
