-- Key ids are unsigned 32-bit numbers (0 .. 2^32 - 1, docs/protocol.md): the columns were
-- PostgreSQL's signed 32-bit integer, which refuses ids from 2^31 up. They become 64-bit, with
-- a check that keeps them in the protocol's range.
ALTER TABLE "account"
  ALTER COLUMN "identity_dh_key_id" TYPE BIGINT,
  ALTER COLUMN "signed_prekey_id" TYPE BIGINT,
  ALTER COLUMN "pq_last_resort_id" TYPE BIGINT,
  ADD CONSTRAINT "account_key_ids_range" CHECK (
    "identity_dh_key_id" BETWEEN 0 AND 4294967295
    AND ("signed_prekey_id" IS NULL OR "signed_prekey_id" BETWEEN 0 AND 4294967295)
    AND ("pq_last_resort_id" IS NULL OR "pq_last_resort_id" BETWEEN 0 AND 4294967295)
  );
ALTER TABLE "key_event"
  ALTER COLUMN "key_id" TYPE BIGINT,
  ADD CONSTRAINT "key_event_key_id_range" CHECK ("key_id" BETWEEN 0 AND 4294967295);
ALTER TABLE "one_time_prekey"
  ALTER COLUMN "key_id" TYPE BIGINT,
  ADD CONSTRAINT "one_time_prekey_key_id_range" CHECK ("key_id" BETWEEN 0 AND 4294967295);
