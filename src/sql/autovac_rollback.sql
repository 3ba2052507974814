-- autovac_rollback.sql: returns the tables of autovac.sql to the server's
-- autovacuum defaults.

ALTER TABLE {Q:pgqueuer} RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor, autovacuum_analyze_threshold, autovacuum_vacuum_cost_delay);

ALTER TABLE {Q:pgqueuer_log} RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor, autovacuum_analyze_threshold, autovacuum_vacuum_cost_delay);
