-- bulk_copy: the two COPY statements of one chunk of a streaming bulk
-- enqueue (docs/design.md §4), in binary format. First the jobs, with ids reserved by
-- bulk.sql; the statement-level trigger fires once per COPY, so workers
-- wake. Then their `queued` log rows (created, traceback and aggregated
-- take their defaults). COPY inserts many rows per heap page at once and
-- evaluates no expression per row; the index entries remain the main cost.

COPY {Q:pgqueuer} (id, priority, entrypoint, payload, execute_after, headers, status) FROM STDIN (FORMAT binary)

COPY {Q:pgqueuer_log} (job_id, status, priority, entrypoint) FROM STDIN (FORMAT binary)
