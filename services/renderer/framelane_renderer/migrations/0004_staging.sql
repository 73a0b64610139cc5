-- Renders held before the work queue: `ingesting` (ingest_external: external sources are being
-- copied into storage) and `queued` renders whose uploaded sources have not arrived yet
-- (pending_keys, until hold_until). framelane_renderer.staging moves them on; stage_lease keeps two
-- replicas from ingesting the same render at once.
ALTER TABLE renders ADD COLUMN pending_keys text[];
ALTER TABLE renders ADD COLUMN hold_until timestamptz;
ALTER TABLE renders ADD COLUMN stage_lease timestamptz;
CREATE INDEX renders_staged ON renders (created_at) WHERE status = 'ingesting' OR pending_keys IS NOT NULL;
