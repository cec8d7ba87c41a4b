-- Key transparency (docs/transparency.md §12.1): the node's append-only log of its users'
-- identity keys. Entries, their stored hashes and the signed checkpoints are never changed or
-- removed; the log's head row only grows. The triggers refuse the rest, so that no code path
-- (and no operator's slip) can rewrite what the node has already signed.

-- One row per log generation: its keys (stored like the node's request-signing keys), its
-- start, and its head (size and frontier, docs/transparency.md §3). import_end is set once,
-- when every account the node had at the start is logged; the node advertises the log then.
CREATE TABLE "kt_log" (
    "generation" INTEGER NOT NULL,
    "origin" TEXT NOT NULL,
    "log_public_key" BYTEA NOT NULL,
    "log_secret_key" BYTEA NOT NULL,
    "vrf_public_key" BYTEA NOT NULL,
    "vrf_secret_key" BYTEA NOT NULL,
    "started_at" BIGINT NOT NULL,
    "size" BIGINT NOT NULL,
    "frontier" BYTEA NOT NULL,
    "import_end" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kt_log_pkey" PRIMARY KEY ("generation"),
    CONSTRAINT "kt_log_generation_check" CHECK ("generation" >= 1),
    CONSTRAINT "kt_log_size_check" CHECK ("size" >= 0 AND octet_length("frontier") % 32 = 0)
);
CREATE UNIQUE INDEX "kt_log_origin_key" ON "kt_log"("origin");

-- One row per entry: the entry bytes and the hashes of the subtrees it completes (§3).
CREATE TABLE "kt_leaf" (
    "generation" INTEGER NOT NULL,
    "idx" BIGINT NOT NULL,
    "entry" BYTEA NOT NULL,
    "hashes" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kt_leaf_pkey" PRIMARY KEY ("generation", "idx"),
    CONSTRAINT "kt_leaf_generation_fkey" FOREIGN KEY ("generation") REFERENCES "kt_log"("generation") ON DELETE RESTRICT ON UPDATE RESTRICT
);

-- One signed checkpoint per size the log reached.
CREATE TABLE "kt_checkpoint" (
    "generation" INTEGER NOT NULL,
    "size" BIGINT NOT NULL,
    "note" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kt_checkpoint_pkey" PRIMARY KEY ("generation", "size"),
    CONSTRAINT "kt_checkpoint_generation_fkey" FOREIGN KEY ("generation") REFERENCES "kt_log"("generation") ON DELETE RESTRICT ON UPDATE RESTRICT
);

-- What a lookup serves with the account's entry (§11.3), and what the self-check rebuilds the
-- entry from (§12.4). registered_at and registration_proof: the registration proof and its
-- timestamp (recovered for accounts older than the log, docs/transparency.md §12.3).
ALTER TABLE "account"
    ADD COLUMN "kt_generation" INTEGER,
    ADD COLUMN "kt_index" BIGINT,
    ADD COLUMN "kt_kind" TEXT,
    ADD COLUMN "kt_vrf_proof" BYTEA,
    ADD COLUMN "kt_opening" BYTEA,
    ADD COLUMN "registered_at" BIGINT,
    ADD COLUMN "registration_proof" BYTEA;
CREATE UNIQUE INDEX "account_kt_entry_key" ON "account"("kt_generation", "kt_index");
-- The accounts the backfill still has to log, in creation order.
CREATE INDEX "account_kt_pending_idx" ON "account"("created_at", "id") WHERE "kt_index" IS NULL;

CREATE FUNCTION "kt_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the transparency log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER "kt_leaf_append_only" BEFORE UPDATE OR DELETE ON "kt_leaf"
    FOR EACH ROW EXECUTE FUNCTION "kt_refuse_change"();
CREATE TRIGGER "kt_leaf_no_truncate" BEFORE TRUNCATE ON "kt_leaf"
    FOR EACH STATEMENT EXECUTE FUNCTION "kt_refuse_change"();
CREATE TRIGGER "kt_checkpoint_append_only" BEFORE UPDATE OR DELETE ON "kt_checkpoint"
    FOR EACH ROW EXECUTE FUNCTION "kt_refuse_change"();
CREATE TRIGGER "kt_checkpoint_no_truncate" BEFORE TRUNCATE ON "kt_checkpoint"
    FOR EACH STATEMENT EXECUTE FUNCTION "kt_refuse_change"();
CREATE TRIGGER "kt_log_no_delete" BEFORE DELETE ON "kt_log"
    FOR EACH ROW EXECUTE FUNCTION "kt_refuse_change"();
CREATE TRIGGER "kt_log_no_truncate" BEFORE TRUNCATE ON "kt_log"
    FOR EACH STATEMENT EXECUTE FUNCTION "kt_refuse_change"();

-- The head only grows: the identity and keys of a generation never change, the size never
-- goes down, and import_end is set once.
CREATE FUNCTION "kt_log_head_grows"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."generation" <> OLD."generation" OR NEW."origin" <> OLD."origin"
        OR NEW."log_public_key" <> OLD."log_public_key" OR NEW."log_secret_key" <> OLD."log_secret_key"
        OR NEW."vrf_public_key" <> OLD."vrf_public_key" OR NEW."vrf_secret_key" <> OLD."vrf_secret_key"
        OR NEW."started_at" <> OLD."started_at" OR NEW."created_at" <> OLD."created_at" THEN
        RAISE EXCEPTION 'the identity and keys of a transparency log never change'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW."size" < OLD."size" THEN
        RAISE EXCEPTION 'the transparency log never shrinks (% to %)', OLD."size", NEW."size"
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD."import_end" IS NOT NULL AND NEW."import_end" IS DISTINCT FROM OLD."import_end" THEN
        RAISE EXCEPTION 'the import end of a transparency log is set once'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER "kt_log_head_grows" BEFORE UPDATE ON "kt_log"
    FOR EACH ROW EXECUTE FUNCTION "kt_log_head_grows"();

-- An account's entry is set once per generation.
CREATE FUNCTION "kt_account_entry_fixed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD."kt_index" IS NOT NULL AND NEW."kt_generation" IS NOT DISTINCT FROM OLD."kt_generation"
        AND (NEW."kt_index", NEW."kt_kind", NEW."kt_vrf_proof", NEW."kt_opening", NEW."registered_at",
             NEW."registration_proof")
            IS DISTINCT FROM (OLD."kt_index", OLD."kt_kind", OLD."kt_vrf_proof", OLD."kt_opening",
                              OLD."registered_at", OLD."registration_proof") THEN
        RAISE EXCEPTION 'the transparency entry of an account is set once'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER "kt_account_entry_fixed" BEFORE UPDATE ON "account"
    FOR EACH ROW EXECUTE FUNCTION "kt_account_entry_fixed"();
