-- Key transparency, the verifying side (docs/transparency.md §8, §12.6): what this node has
-- verified of other nodes' logs, which log each peer domain is pinned to, and the evidence of
-- every failed verification.

-- Per peer log: its identity (pinned on first sight) and the largest tree head verified.
CREATE TABLE "kt_peer_log" (
  "origin"        TEXT PRIMARY KEY,
  "log_key"       TEXT NOT NULL,
  "vrf_key"       BYTEA NOT NULL CHECK (octet_length("vrf_key") = 32),
  "import_end"    BIGINT NOT NULL CHECK ("import_end" >= 1),
  "size"          BIGINT NOT NULL CHECK ("size" >= 0),
  "root"          BYTEA NOT NULL CHECK (octet_length("root") = 32),
  "checkpoint"    TEXT NOT NULL,
  -- `inconsistent` once a signed checkpoint contradicted the stored one: answers from the log are
  -- refused until an operator clears the peer (npm run admin -- kt peer clear).
  "status"        TEXT NOT NULL DEFAULT 'ok' CHECK ("status" IN ('ok', 'inconsistent')),
  "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
  "updated_at"    TIMESTAMPTZ(3) NOT NULL
);

-- Per peer domain: the log it was first seen with (as HSTS pins).
CREATE TABLE "kt_peer_domain" (
  "domain"    TEXT PRIMARY KEY,
  "origin"    TEXT NOT NULL REFERENCES "kt_peer_log"("origin") ON DELETE CASCADE,
  "pinned_at" TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX "kt_peer_domain_origin_idx" ON "kt_peer_domain"("origin");

-- Every failed verification of a peer's answer, with what shows it (notes verbatim, proofs).
CREATE TABLE "kt_evidence" (
  "id"         BIGSERIAL PRIMARY KEY,
  "domain"     TEXT NOT NULL,
  "origin"     TEXT,
  "address"    TEXT,
  "code"       TEXT NOT NULL,
  "message"    TEXT NOT NULL,
  "evidence"   JSONB NOT NULL,
  "created_at" TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX "kt_evidence_created_at_idx" ON "kt_evidence"("created_at");

-- The stored state never goes backwards, whatever writes it: the identity of a log is fixed,
-- its size never decreases, and the root of a size never changes. Clearing a peer deletes it.
CREATE FUNCTION "kt_peer_log_forward_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."origin" <> OLD."origin" OR NEW."log_key" <> OLD."log_key" OR NEW."vrf_key" <> OLD."vrf_key"
     OR NEW."import_end" <> OLD."import_end" THEN
    RAISE EXCEPTION 'kt_peer_log: the identity of a pinned log never changes';
  END IF;
  IF NEW."size" < OLD."size" OR (NEW."size" = OLD."size" AND NEW."root" <> OLD."root") THEN
    RAISE EXCEPTION 'kt_peer_log: the stored tree head never goes backwards';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER "kt_peer_log_forward" BEFORE UPDATE ON "kt_peer_log"
  FOR EACH ROW EXECUTE FUNCTION "kt_peer_log_forward_only"();

-- Evidence is kept: no UPDATE or DELETE.
CREATE FUNCTION "kt_evidence_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'kt_evidence is append-only';
END;
$$;
CREATE TRIGGER "kt_evidence_no_change" BEFORE UPDATE OR DELETE ON "kt_evidence"
  FOR EACH ROW EXECUTE FUNCTION "kt_evidence_append_only"();
