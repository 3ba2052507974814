-- autovac.sql: PgQueuer's autovacuum settings, identical on all four tables,
-- so that `pgq autovac` and PgQueuer's own leave the same reloptions. The
-- queue and schedules tables churn (every job is inserted, updated and
-- deleted): vacuum and analyse after a small fraction of dead rows,
-- unthrottled, with room on each page for HOT updates (fillfactor 70). The
-- log and statistics grow append-mostly and are pruned in bulk: vacuum
-- rarely, analyse often enough for the planner.

ALTER TABLE {Q:pgqueuer} SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 500, autovacuum_vacuum_cost_limit = 10000, autovacuum_vacuum_cost_delay = 0, fillfactor = 70);

ALTER TABLE {Q:pgqueuer_schedules} SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 500, autovacuum_vacuum_cost_limit = 10000, autovacuum_vacuum_cost_delay = 0, fillfactor = 70);

ALTER TABLE {Q:pgqueuer_log} SET (autovacuum_vacuum_scale_factor = 0.95, autovacuum_vacuum_threshold = 1000000, autovacuum_analyze_scale_factor = 0.05, autovacuum_analyze_threshold = 10000);

ALTER TABLE {Q:pgqueuer_statistics} SET (autovacuum_vacuum_scale_factor = 0.95, autovacuum_vacuum_threshold = 1000000, autovacuum_analyze_scale_factor = 0.05, autovacuum_analyze_threshold = 10000);
