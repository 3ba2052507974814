-- schedule_remove: $1 bigint[] ids, $2 text[] entrypoints. PgQueuer's
-- removal: deletes the rows named either way. Returns the ids deleted.

DELETE FROM {Q:pgqueuer_schedules}
WHERE id = ANY ($1::bigint[]) OR entrypoint = ANY ($2::text[])
RETURNING id;
