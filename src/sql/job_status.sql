-- TODO: job_status
SELECT 1;
