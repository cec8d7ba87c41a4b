-- Exchanges: the peer's public identity as verified when the exchange was stored (the
-- initiator's node checks the confirmation signature with it; the responder's client derives
-- the secret with it), and when the exchange was confirmed.
ALTER TABLE "exchange" ADD COLUMN "peer_identity" JSONB;
ALTER TABLE "exchange" ADD COLUMN "confirmed_at" TIMESTAMPTZ(3);

-- Expiry sweep: exchanges still waiting, by deadline.
CREATE INDEX "exchange_status_expires_at_idx" ON "exchange"("status", "expires_at");

-- Outbox: which exchange a message belongs to, so that giving up marks it failed.
ALTER TABLE "outbox_message" ADD COLUMN "exchange_row_id" UUID;
