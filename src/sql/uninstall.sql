-- uninstall.sql: drops every pgq/PgQueuer object, all IF EXISTS and never
-- CASCADE (docs/design.md §3.8), so objects of other applications that depend on ours
-- make it fail rather than vanish. schema.c runs it in one transaction.

DROP TRIGGER IF EXISTS {N:tg_pgqueuer_changed} ON {Q:pgqueuer};

DROP FUNCTION IF EXISTS {Q:fn_pgqueuer_changed}();

DROP TABLE IF EXISTS {Q:pgqueuer};

DROP TABLE IF EXISTS {Q:pgqueuer_log};

DROP TABLE IF EXISTS {Q:pgqueuer_statistics};

DROP TABLE IF EXISTS {Q:pgqueuer_schedules};

DROP TYPE IF EXISTS {Q:pgqueuer_status};

DROP TYPE IF EXISTS {Q:pgqueuer_statistics_status};
