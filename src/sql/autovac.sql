-- autovac.sql: autovacuum tuned for a high-churn queue. Every job is inserted,
-- updated at least once and deleted, so the queue table is mostly dead
-- tuples unless vacuumed often: vacuum after a fixed number of dead rows
-- rather than a fraction of a (small, fluctuating) table, and without the
-- cost-based throttling that lets bloat outrun the vacuum. The log grows
-- append-mostly and is updated once (aggregated) and pruned in bulk.

ALTER TABLE {Q:pgqueuer} SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000, autovacuum_vacuum_cost_delay = 0);

ALTER TABLE {Q:pgqueuer_log} SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_vacuum_threshold = 10000, autovacuum_analyze_scale_factor = 0.05, autovacuum_analyze_threshold = 10000, autovacuum_vacuum_cost_delay = 0);
