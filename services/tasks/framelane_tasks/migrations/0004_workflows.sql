-- Workflow tasks (music video, e-commerce video) and the BeatAPI face.
-- request_id: the request that created the task (BeatAPI shows it on the task).
-- credits_reserved / billable_seconds: what acceptance reserved and the seconds it priced.
-- spec: the render request the workflow compiled (GET /v1/tasks/{id}/spec), stored before the
-- child render is submitted; child_render_id: that render.
ALTER TABLE tasks ADD COLUMN request_id text;
ALTER TABLE tasks ADD COLUMN credits_reserved integer NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN billable_seconds integer;
ALTER TABLE tasks ADD COLUMN spec jsonb;
ALTER TABLE tasks ADD COLUMN child_render_id text;
-- BeatAPI POST /files: stored synchronously, ready at once.
ALTER TABLE assets DROP CONSTRAINT assets_origin_check;
ALTER TABLE assets ADD CONSTRAINT assets_origin_check CHECK (origin IN ('upload', 'import', 'file'));
