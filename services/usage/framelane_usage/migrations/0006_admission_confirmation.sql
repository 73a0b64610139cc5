-- Admission (slot, render minutes, credits) is committed here before the job's create commits in
-- its own service. The job's first event confirms it; an admission still unconfirmed after
-- FRAMELANE_ADMISSION_CONFIRM_SECONDS belongs to a create that failed after it (its transaction
-- rolled back, or its process died) and is given back (metering.Meters.release_unconfirmed).
ALTER TABLE active_jobs ADD COLUMN confirmed boolean NOT NULL DEFAULT false;
UPDATE active_jobs SET confirmed = true;
CREATE INDEX active_jobs_unconfirmed ON active_jobs (created_at) WHERE NOT confirmed;
