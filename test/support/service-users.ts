/**
 * Users for service-level tests: local accounts registered through the node's own services
 * (no HTTP), and the messages the users' clients would make.
 */
import { AccountRepository, type AccountKey } from '../../src/accounts/account.repository.js';
import { RegistrationService } from '../../src/accounts/registration.service.js';
import { DirectoryService } from '../../src/directory/directory.service.js';
import { ExchangeService } from '../../src/exchange/exchange.service.js';
import { InboundExchangeService, type MessageOrigin } from '../../src/exchange/inbound-exchange.service.js';
import { parseAddress } from '../../src/protocol/address.js';
import { ed25519Sign, randomBytes } from '../../src/protocol/crypto.js';
import { fromB64u, lengthPrefixed, toB64u } from '../../src/protocol/encoding.js';
import { acceptExchange, CONFIRMATION_CONTEXT, initiateExchange } from '../../src/protocol/exchange.js';
import {
  decodeBundle,
  decodePublicIdentity,
  type PrekeyBundle,
  type ExchangeConfirmation,
  type ExchangeInitiation,
  type PublicIdentity,
} from '../../src/protocol/wire.js';
import { buildPrekeyUpload, buildRegistration, createKeystore, planTopUp } from '../../src/sdk/identity.js';
import type { Keystore } from '../../src/sdk/keystore.js';
import { initiationMessage, initiatorKeys, type RemoteUser } from './remote-user.js';
import type { ServiceGraph } from './service-graph.js';

export interface LocalUser {
  ks: Keystore;
  /** What ClientAuthGuard would attach to the user's signed requests. */
  key: AccountKey;
  /** As the node publishes it. */
  identity: PublicIdentity;
}

/** Registers `address` on the graph's node and publishes its prekeys, as the SDK would. */
export async function localUser(graph: ServiceGraph, address: string, prekeys = 3): Promise<LocalUser> {
  const now = graph.clock.unixSeconds();
  const ks = createKeystore(address, graph.config.publicUrl, now);
  await graph.module.get(RegistrationService).register(buildRegistration(ks, now));
  const key = (await graph.module.get(AccountRepository).findKeyByAddress(ks.address))!;
  const directory = graph.module.get(DirectoryService);
  const plan = planTopUp(ks, await directory.status(key), prekeys, now);
  await directory.publish(key, buildPrekeyUpload(ks, plan, now));
  const identity = await directory.lookupPublicIdentity(parseAddress(ks.address));
  return { ks, key, identity };
}

/** The confirmation `responder`'s client makes for `initiation` from `initiatorIdentity`. */
export function confirmationBy(
  responder: Keystore,
  initiation: ExchangeInitiation,
  initiatorIdentity: PublicIdentity,
): ExchangeConfirmation {
  const secret = <T>(keys: Array<{ id: number; secretKey: T }>, id: number) => keys.find((k) => k.id === id)?.secretKey;
  return acceptExchange({
    self: {
      address: responder.address,
      identitySecretKey: responder.identitySecretKey,
      identityDhSecretKey: responder.identityDh.secretKey,
      signedPrekeySecret: (id) => secret(responder.signedPrekeys, id),
      oneTimePrekeySecret: (id) => responder.oneTimePrekeys.get(id),
      pqPrekeySecret: (kind, id) =>
        kind === 'pq-one-time' ? responder.pqOneTimePrekeys.get(id) : secret(responder.pqLastResortKeys, id),
    },
    initiation,
    initiatorIdentity: decodePublicIdentity(initiatorIdentity, initiation.from),
  }).confirmation;
}

/** A confirmation of `exchangeId` signed by `signer` over any MAC (a node cannot check the MAC). */
export function signedConfirmation(
  signer: Keystore,
  fields: { exchangeId: string; to: string; mac?: string },
): ExchangeConfirmation {
  const unsigned = {
    exchangeId: fields.exchangeId,
    from: signer.address,
    to: fields.to,
    mac: fields.mac ?? toB64u(randomBytes(32)),
  };
  const statement = lengthPrefixed(
    CONFIRMATION_CONTEXT,
    fromB64u(unsigned.exchangeId),
    unsigned.from,
    unsigned.to,
    fromB64u(unsigned.mac),
  );
  return { ...unsigned, signature: toB64u(ed25519Sign(statement, signer.identitySecretKey)) };
}

let fixtureSources = 0;

/** A bundle of a local user, as a requester's node would have claimed it (on a source of its own, so no budget runs out). */
export function bundleOf(graph: ServiceGraph, user: LocalUser, requester: string): Promise<PrekeyBundle> {
  return graph.module
    .get(DirectoryService)
    .claimBundle(parseAddress(user.ks.address), { address: requester, source: `node:fixture-${++fixtureSources}` });
}

/** `user` starts an exchange with a user of another node through the client API's service: stored pending, queued. */
export async function startsExchange(
  graph: ServiceGraph,
  user: LocalUser,
  peer: RemoteUser,
): Promise<ExchangeInitiation> {
  const bundle = peer.bundle();
  const { initiation } = initiateExchange({
    self: initiatorKeys(user.ks),
    peerBundle: decodeBundle(bundle, bundle.address),
    createdAt: graph.clock.unixSeconds(),
  });
  const { status } = await graph.module.get(ExchangeService).start(user.key, { initiation, bundle });
  if (status !== 'pending') throw new Error(`a new exchange with another node is pending, not ${status}`);
  return initiation;
}

/** An exchange from a user of another node, delivered to `user` by `origin` (the sender's node). */
export async function receivesExchange(
  graph: ServiceGraph,
  user: LocalUser,
  from: RemoteUser,
  origin: MessageOrigin,
): Promise<ExchangeInitiation> {
  const { message } = initiationMessage(from, await bundleOf(graph, user, from.ks.address), graph.clock.unixSeconds());
  await graph.module.get(InboundExchangeService).receiveInitiation(message, origin);
  return message.initiation;
}
