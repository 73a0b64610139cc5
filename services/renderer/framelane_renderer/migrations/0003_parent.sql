-- A render a workflow task submitted (its child): one per parent task, so a redelivered workflow
-- step finds the render it already submitted instead of queueing a second one.
ALTER TABLE renders ADD COLUMN parent_id text;
CREATE UNIQUE INDEX renders_by_parent ON renders (parent_id) WHERE parent_id IS NOT NULL;
