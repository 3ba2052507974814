-- claim_lock: $1 text[] of entrypoints with a concurrency limit or a rate,
-- sorted by the caller so that claimers always lock in the same order.
-- Runs before claim.sql in the same transaction (one pipelined round trip)
-- and serialises the claimers of each such entrypoint until commit. The
-- claim statement that follows takes its snapshot after the lock is
-- granted, so it sees every pick committed by the previous holder; that is
-- what keeps a concurrency limit from being exceeded by racing workers.

SELECT pg_advisory_xact_lock(hashtext({LQ:pgqueuer}), hashtext(e))
FROM unnest($1::text[]) AS e;
