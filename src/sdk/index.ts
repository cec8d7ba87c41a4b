/**
 * The KeyPears SDK as a package: `import { … } from 'keypears-node/sdk'` (docs/sdk.md). What
 * a client needs to hold an identity, register it, exchange keys and keep the secrets: the
 * signed node client, the account and exchange flows, resolution, contacts and the encrypted
 * keystore. Nothing here reaches the node's server code (lint keeps src/sdk that way).
 */
export { NodeClient, normalizeNodeUrl, type NodeClientOptions, type Signer } from './client.js';
export { unixNow, type UserContext } from './context.js';
export { createKeystore, DEFAULT_ONE_TIME_PREKEYS } from './identity.js';
export { registerAccount, topUpPrekeys, type TopUpResult } from './account.js';
export {
  acceptExchange,
  applyRetention,
  exchangeSecret,
  forgetExchange,
  refreshExchange,
  startExchange,
  waitForExchange,
  waitForInbox,
  type ExchangeSummary,
  type WaitOptions,
} from './exchange.js';
export type { StoredExchange } from './exchange-record.js';
export { matchExchangeId } from './exchange-id.js';
export {
  resolveAddress,
  resolveForUser,
  resolveNodeUrl,
  type ClientDiscoveryOptions,
  type ResolvedAddress,
} from './resolve.js';
export { acceptContactKey, checkContactKey, listContacts, markVerified, pinContact, type Contact } from './contacts.js';
export {
  DEFAULT_SCRYPT,
  identityPublicKey,
  keyFromSource,
  keystoreExists,
  keystorePath,
  loadKeystoreHeader,
  newKeystoreKey,
  openKeystore,
  readKeystoreHeader,
  saveKeystore,
  sealKeystore,
  unlockKeystore,
  type Keystore,
  type KeystoreHeader,
  type KeystoreKey,
  type KeystoreSettings,
  type PassphraseSource,
  type ScryptParams,
  type UnlockedKeystore,
} from './keystore.js';
export { identityFingerprint, safetyNumber } from '../protocol/fingerprint.js';
export { parseAddress } from '../protocol/address.js';
export { KeyPearsError, isKeyPearsError, type ErrorCode } from '../protocol/errors.js';
