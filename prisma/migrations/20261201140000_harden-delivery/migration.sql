-- Outbox polls look only at messages still to deliver: a partial index holds those alone, so
-- a poll costs the same whether the table also holds ten or ten million finished messages.
DROP INDEX IF EXISTS "outbox_message_pending_idx";
CREATE INDEX "outbox_message_due_idx" ON "outbox_message"("next_attempt_at")
  WHERE "delivered_at" IS NULL AND "failed_at" IS NULL;

-- Finished messages (delivered or given up) are deleted after KEYPEARS_OUTBOX_RETENTION_SECONDS;
-- the retention sweep finds the oldest of them through this index.
CREATE INDEX "outbox_message_finished_idx" ON "outbox_message"((COALESCE("delivered_at", "failed_at")))
  WHERE "delivered_at" IS NOT NULL OR "failed_at" IS NOT NULL;
