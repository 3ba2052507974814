-- log_totals: log rows by entrypoint and status since the log began (or
-- was last pruned): the statistics buckets the roll-up has summed plus the
-- log rows not yet rolled up (found through pgqueuer_log_not_aggregated),
-- so a log of millions of rows is never counted row by row.
SELECT entrypoint, status::text AS status, sum(count)::bigint AS count
FROM (
    SELECT entrypoint, status, count FROM {Q:pgqueuer_statistics}
    UNION ALL
    SELECT entrypoint, status, 1 FROM {Q:pgqueuer_log} WHERE NOT aggregated
) t
GROUP BY entrypoint, status
ORDER BY entrypoint, status;
