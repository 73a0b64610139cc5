-- The workers' queue gauges (framelane_jobs_queued, framelane_jobs_oldest_queued_age_seconds) read
-- the queued renders every few seconds: a small partial index instead of a scan of every render.
CREATE INDEX renders_queued ON renders (created_at) WHERE status = 'queued';
