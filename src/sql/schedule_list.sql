-- schedule_list: every schedule, soonest next run first. Timestamps as
-- epoch seconds.

SELECT id, expression, entrypoint, status,
       extract(epoch FROM heartbeat) AS heartbeat, extract(epoch FROM created) AS created,
       extract(epoch FROM updated) AS updated, extract(epoch FROM next_run) AS next_run,
       extract(epoch FROM last_run) AS last_run
FROM {Q:pgqueuer_schedules}
ORDER BY next_run, id;
