-- durability_balanced.sql: docs/design.md §3.7. ALTER TABLE ... SET [UN]LOGGED rewrites
-- the table and keeps its rows; schema.c runs this in one transaction.

ALTER TABLE {Q:pgqueuer} SET LOGGED;

ALTER TABLE {Q:pgqueuer_schedules} SET LOGGED;

ALTER TABLE {Q:pgqueuer_log} SET UNLOGGED;

ALTER TABLE {Q:pgqueuer_statistics} SET UNLOGGED;
