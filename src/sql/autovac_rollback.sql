-- autovac_rollback.sql: resets, on all four tables, every storage parameter
-- that autovac.sql, PgQueuer's autovacuum tuning or an older pgq sets, so
-- the server's defaults apply again whichever tool tuned them.

ALTER TABLE {Q:pgqueuer} RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor, autovacuum_analyze_threshold, autovacuum_vacuum_cost_limit, autovacuum_vacuum_cost_delay, fillfactor);

ALTER TABLE {Q:pgqueuer_schedules} RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor, autovacuum_analyze_threshold, autovacuum_vacuum_cost_limit, autovacuum_vacuum_cost_delay, fillfactor);

ALTER TABLE {Q:pgqueuer_log} RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor, autovacuum_analyze_threshold, autovacuum_vacuum_cost_limit, autovacuum_vacuum_cost_delay, fillfactor);

ALTER TABLE {Q:pgqueuer_statistics} RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor, autovacuum_analyze_threshold, autovacuum_vacuum_cost_limit, autovacuum_vacuum_cost_delay, fillfactor);
