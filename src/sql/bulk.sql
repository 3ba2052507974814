-- bulk: reserves the ids of the next chunk of a streaming bulk enqueue
-- (docs/design.md §4), whose rows then travel by COPY (bulk_copy.sql). $1 int4 number
-- of jobs. Returns one row: ids int8[], one nextval of the queue's sequence
-- per job; they ascend, since one session's nextval calls only ever grow
-- (others may take values in between, so they need not be consecutive).
-- now_us: the transaction's now() in microseconds since 2000-01-01 UTC, the
-- base of execute_after = now() + delay, exactly as enqueue.sql computes
-- it; whole seconds and microseconds are taken apart because extract()
-- returns float8 before PostgreSQL 14.
SELECT (SELECT array_agg(nextval((SELECT pg_get_serial_sequence({LQ:pgqueuer}, 'id'))::regclass)) FROM generate_series(1, $1::int4)) AS ids,
       extract(epoch FROM date_trunc('second', now()))::int8 * 1000000 + extract(microseconds FROM now())::int8 % 1000000 - 946684800000000 AS now_us;
