/**
 * Checks docs/test-vectors/federation.json: the signed federation request and the exchange
 * messages nodes carry, recomputed from the documented inputs (docs/protocol.md §9).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ed25519PublicKey, ed25519Verify, sha256 } from './crypto.js';
import { fromB64u, fromHex, toB64u, toHex, utf8 } from './encoding.js';
import { exchangeTranscript } from './exchange.js';
import {
  ConfirmationMessageSchema,
  FederationBatchAnswerSchema,
  FederationBatchSchema,
  InitiationMessageSchema,
} from './exchange-api.js';
import { checkIncomingInitiation } from './exchange-message.js';
import { signRequest, verifyRequest } from './http-signature.js';
import { parseWire } from './wire.js';

const vectors = JSON.parse(readFileSync('docs/test-vectors/federation.json', 'utf8'));
const { request, batch } = vectors;

/** Signs a vector's request with the node key from its inputs, checks the headers, and checks its signature over its signature base. */
function expectSignedAsDocumented(v: typeof request): void {
  const headers = signRequest({
    method: v.method,
    targetUri: v.targetUri,
    body: utf8(v.body),
    keyId: v.keyId,
    secretKey: fromHex(request.nodeSecretKey),
    headers: v.coveredHeaders,
    now: v.created,
    ttlSeconds: v.expires - v.created,
    nonce: v.nonce,
  });
  expect(headers).toEqual(v.headers);
  const signature = new Uint8Array(Buffer.from(/^kp=:(.*):$/.exec(v.headers.Signature)![1], 'base64'));
  expect(ed25519Verify(signature, utf8(v.signatureBase), fromB64u(request.nodePublicKey))).toBe(true);
}

describe('federation request vector', () => {
  it('reproduces the headers and signature base from the node key and the request', () => {
    const seed = fromHex(request.nodeSecretKey);
    expect(toB64u(ed25519PublicKey(seed))).toBe(request.nodePublicKey);
    expect(toB64u(sha256(ed25519PublicKey(seed))).slice(0, 22)).toBe(request.keyId);
    expectSignedAsDocumented(request);
  });

  it('verifies with the covered federation headers, and not with any of them changed', async () => {
    const verify = (covered: Record<string, string>) =>
      verifyRequest({
        method: request.method,
        targetUri: request.targetUri,
        body: utf8(request.body),
        headers: { ...request.headers, ...covered },
        requiredHeaders: Object.keys(request.coveredHeaders),
        now: request.created + 1,
        resolveKey: () => fromB64u(request.nodePublicKey),
      });
    await expect(verify(request.coveredHeaders)).resolves.toMatchObject({ keyId: request.keyId });
    for (const name of Object.keys(request.coveredHeaders)) {
      await expect(verify({ ...request.coveredHeaders, [name]: 'https://keys.c.example' })).rejects.toMatchObject({
        code: 'bad_signature',
      });
    }
  });
});

describe('federation batch vector', () => {
  it('is the two messages of the first case, signed as a federation request, and verifies', async () => {
    const first = vectors.messages[0];
    expect(batch.body).toBe(JSON.stringify({ messages: [first.message, first.confirmationMessage] }));
    const parsed = parseWire(FederationBatchSchema, JSON.parse(batch.body));
    expect(parsed.messages.map((m) => m.type)).toEqual(['initiation', 'confirmation']);
    expectSignedAsDocumented(batch);
    await expect(
      verifyRequest({
        method: batch.method,
        targetUri: batch.targetUri,
        body: utf8(batch.body),
        headers: { ...batch.headers, ...batch.coveredHeaders },
        requiredHeaders: Object.keys(batch.coveredHeaders),
        now: batch.created + 1,
        resolveKey: () => fromB64u(request.nodePublicKey),
      }),
    ).resolves.toMatchObject({ keyId: request.keyId });
  });

  it('has an answer with one result per message, in order', () => {
    const { results } = parseWire(FederationBatchAnswerSchema, JSON.parse(batch.answer));
    expect(results).toEqual([
      { exchangeId: vectors.messages[0].message.initiation.exchangeId, status: 'delivered' },
      { error: { code: 'not_found', message: 'no such exchange' } },
    ]);
  });
});

describe.each(vectors.messages.map((m: { exchange: string }) => [m.exchange, m]))('messages: %s', (_name, m: any) => {
  const message = parseWire(InitiationMessageSchema, m.message);
  const responder = {
    address: m.responder.address,
    identityKey: fromB64u(m.responder.identityKey),
    identityDhKey: fromB64u(m.responder.identityDhKey),
  };

  it('are valid wire messages, the first one being the signed request body', () => {
    expect(parseWire(ConfirmationMessageSchema, m.confirmationMessage).confirmation.to).toBe(message.initiation.from);
    if (m === vectors.messages[0]) expect(JSON.parse(request.body)).toEqual(m.message);
  });

  it('give the documented transcript hash from public data only, and pass the receiving node checks', () => {
    const rp = message.responderPrekeys;
    const th = sha256(
      exchangeTranscript(message.initiation, {
        identityKey: responder.identityKey,
        identityDhKey: responder.identityDhKey,
        signedPrekey: fromB64u(rp.signedPrekey.publicKey),
        oneTimePrekey: rp.oneTimePrekey && fromB64u(rp.oneTimePrekey.publicKey),
        pqPrekey: fromB64u(rp.pqPrekey.publicKey),
      }),
    );
    expect(toHex(th)).toBe(m.transcriptHash);
    expect(checkIncomingInitiation(message.initiation, message.initiatorIdentity, rp, responder).address).toBe(
      message.initiation.from,
    );
  });

  it('fail the receiving node checks with a forwarded prekey that is not the responder’s', () => {
    const rp = message.responderPrekeys;
    const forged = { ...rp, signedPrekey: { ...rp.signedPrekey, id: rp.signedPrekey.id + 1 } };
    expect(() => checkIncomingInitiation(message.initiation, message.initiatorIdentity, forged, responder)).toThrow(
      expect.objectContaining({ code: 'invalid_exchange' }),
    );
  });
});
