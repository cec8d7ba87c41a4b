-- CreateTable
CREATE TABLE "account" (
    "id" UUID NOT NULL,
    "address" TEXT NOT NULL,
    "domain" TEXT NOT NULL,
    "identity_key" BYTEA NOT NULL,
    "identity_dh_key_id" INTEGER NOT NULL,
    "identity_dh_key" BYTEA NOT NULL,
    "identity_dh_signature" BYTEA NOT NULL,
    "signed_prekey_id" INTEGER,
    "signed_prekey" BYTEA,
    "signed_prekey_signature" BYTEA,
    "signed_prekey_at" TIMESTAMPTZ(3),
    "pq_last_resort_id" INTEGER,
    "pq_last_resort" BYTEA,
    "pq_last_resort_signature" BYTEA,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "key_event" (
    "seq" BIGSERIAL NOT NULL,
    "account_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "key_id" INTEGER NOT NULL,
    "public_key" BYTEA NOT NULL,
    "signature" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "key_event_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "one_time_prekey" (
    "id" BIGSERIAL NOT NULL,
    "account_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "key_id" INTEGER NOT NULL,
    "public_key" BYTEA NOT NULL,
    "signature" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "one_time_prekey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invite" (
    "token_hash" TEXT NOT NULL,
    "domain" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "used_by" TEXT,

    CONSTRAINT "invite_pkey" PRIMARY KEY ("token_hash")
);

-- CreateTable
CREATE TABLE "request_nonce" (
    "scope" TEXT NOT NULL,
    "nonce" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "request_nonce_pkey" PRIMARY KEY ("scope","nonce")
);

-- CreateTable
CREATE TABLE "rate_limit" (
    "bucket" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "rate_limit_pkey" PRIMARY KEY ("bucket","window_start")
);

-- CreateTable
CREATE TABLE "node_key" (
    "key_id" TEXT NOT NULL,
    "public_key" BYTEA NOT NULL,
    "secret_key" BYTEA NOT NULL,
    "not_before" TIMESTAMPTZ(3) NOT NULL,
    "not_after" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "node_key_pkey" PRIMARY KEY ("key_id")
);

-- CreateTable
CREATE TABLE "discovery_cache" (
    "domain" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "node_url" TEXT,
    "method" TEXT,
    "document" JSONB,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "stale_until" TIMESTAMPTZ(3) NOT NULL,
    "last_error" TEXT,
    "keys_refetched_at" TIMESTAMPTZ(3),

    CONSTRAINT "discovery_cache_pkey" PRIMARY KEY ("domain")
);

-- CreateTable
CREATE TABLE "exchange" (
    "id" UUID NOT NULL,
    "exchange_id" TEXT NOT NULL,
    "account_id" UUID NOT NULL,
    "role" TEXT NOT NULL,
    "peer_address" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "initiation" JSONB NOT NULL,
    "confirmation" JSONB,
    "used_last_resort" BOOLEAN NOT NULL DEFAULT false,
    "failure_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "exchange_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_message" (
    "id" BIGSERIAL NOT NULL,
    "dedupe_key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "target_domain" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "give_up_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),
    "last_error" TEXT,

    CONSTRAINT "outbox_message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "block" (
    "account_id" UUID NOT NULL,
    "pattern" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "block_pkey" PRIMARY KEY ("account_id","pattern")
);

-- CreateIndex
CREATE UNIQUE INDEX "account_address_key" ON "account"("address");

-- CreateIndex
CREATE INDEX "account_domain_idx" ON "account"("domain");

-- CreateIndex
CREATE INDEX "key_event_account_id_seq_idx" ON "key_event"("account_id", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "one_time_prekey_account_id_kind_key_id_key" ON "one_time_prekey"("account_id", "kind", "key_id");

-- CreateIndex
CREATE INDEX "one_time_prekey_account_id_kind_id_idx" ON "one_time_prekey"("account_id", "kind", "id");

-- CreateIndex
CREATE INDEX "request_nonce_expires_at_idx" ON "request_nonce"("expires_at");

-- CreateIndex
CREATE INDEX "rate_limit_window_start_idx" ON "rate_limit"("window_start");

-- CreateIndex
CREATE UNIQUE INDEX "exchange_exchange_id_account_id_key" ON "exchange"("exchange_id", "account_id");

-- CreateIndex
CREATE INDEX "exchange_account_id_status_idx" ON "exchange"("account_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_message_dedupe_key_key" ON "outbox_message"("dedupe_key");

-- CreateIndex
CREATE INDEX "outbox_message_pending_idx" ON "outbox_message"("next_attempt_at");

-- AddForeignKey
ALTER TABLE "key_event" ADD CONSTRAINT "key_event_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "one_time_prekey" ADD CONSTRAINT "one_time_prekey_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "exchange" ADD CONSTRAINT "exchange_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "block" ADD CONSTRAINT "block_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Append-only history: refuse any UPDATE or DELETE of key_event.
CREATE FUNCTION "key_event_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'key_event is append-only';
END;
$$;
CREATE TRIGGER "key_event_no_change" BEFORE UPDATE OR DELETE ON "key_event"
  FOR EACH ROW EXECUTE FUNCTION "key_event_append_only"();
