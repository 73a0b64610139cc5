-- The workers' queue gauges (framelane_jobs_queued, framelane_jobs_oldest_queued_age_seconds) read
-- the queued tasks every few seconds: a small partial index instead of a scan of every task.
CREATE INDEX tasks_queued ON tasks (created_at) WHERE status = 'queued';
