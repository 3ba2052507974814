-- schedule_done: $1 bigint[] ids whose run ended (or whose job was
-- enqueued). PgQueuer's release: queued again, last_run now.

UPDATE {Q:pgqueuer_schedules} SET status = 'queued', last_run = now(), updated = now()
WHERE id = ANY ($1::bigint[]);
