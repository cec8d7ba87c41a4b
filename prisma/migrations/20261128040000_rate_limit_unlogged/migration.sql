-- Rate-limit counters are written on every limited request, and one bucket (a source, a
-- sender) can be hit by many requests at once. As an ordinary table, each increment holds the
-- bucket's row lock until its commit is flushed to disk, so increments of one bucket queue
-- behind each other's flushes. UNLOGGED tables write no WAL: the row lock is held for
-- microseconds, not a disk flush. The trade is deliberate: after a crash of the database
-- server the counters start again from zero (the windows are at most an hour long), and they
-- are not copied to streaming replicas. Nothing else is kept here. (docs/performance.md)
ALTER TABLE "rate_limit" SET UNLOGGED;
