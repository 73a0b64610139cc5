-- The workflow a credit-priced task runs (music-video, ecommerce-video), on its reserve row, so
-- BeatAPI's GET /usage can count tasks and settled credits per workflow from the ledger alone.
ALTER TABLE credit_ledger ADD COLUMN workflow text;
CREATE INDEX credit_ledger_workflow_reserves ON credit_ledger (workspace_id, workflow) WHERE kind = 'reserve';
