/**
 * Signal's PQXDH session setup in libsignal (`@signalapp/libsignal-client`, Rust, a dev
 * dependency of the bench only), as the peer our crypto-only exchange is compared with. One
 * call is one complete setup between fixed identities, in memory: Bob's one-time prekeys (an
 * X25519 key and an ML-KEM-1024 key signed by his identity key), the bundle, Alice's
 * `processPreKeyBundle` (checks the signatures, X3DH and the encapsulation) and first message,
 * Bob's `signalDecryptPreKey` (the decapsulation, the session), and Bob's reply decrypted by
 * Alice: the step that tells Alice that Bob derived the same keys, as our confirmation does.
 */
import {
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KEMKeyPair,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyBundle,
  PreKeyRecord,
  PreKeySignalMessage,
  PreKeyStore,
  PrivateKey,
  ProtocolAddress,
  SessionStore,
  SignalMessage,
  SignedPreKeyRecord,
  SignedPreKeyStore,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';

class MemorySessionStore extends SessionStore {
  sessions = new Map();
  async saveSession(address, record) {
    this.sessions.set(address.toString(), record);
  }
  async getSession(address) {
    return this.sessions.get(address.toString()) ?? null;
  }
  async getExistingSessions(addresses) {
    return addresses.map((a) => this.sessions.get(a.toString())).filter(Boolean);
  }
}

class MemoryIdentityStore extends IdentityKeyStore {
  identities = new Map();
  constructor(identity, registrationId) {
    super();
    this.identity = identity;
    this.registrationId = registrationId;
  }
  async getIdentityKey() {
    return this.identity.privateKey;
  }
  async getLocalRegistrationId() {
    return this.registrationId;
  }
  async saveIdentity(address, key) {
    const known = this.identities.get(address.toString());
    this.identities.set(address.toString(), key);
    return known && !known.equals(key) ? IdentityChange.ReplacedExisting : IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(address, key) {
    const known = this.identities.get(address.toString());
    return !known || known.equals(key);
  }
  async getIdentity(address) {
    return this.identities.get(address.toString()) ?? null;
  }
}

/** Bob's prekeys: one signed prekey kept, one-time keys added for each setup and removed on use. */
class MemoryPreKeyStore extends PreKeyStore {
  records = new Map();
  async savePreKey(id, record) {
    this.records.set(id, record);
  }
  async getPreKey(id) {
    return this.records.get(id);
  }
  async removePreKey(id) {
    this.records.delete(id);
  }
}

class MemorySignedPreKeyStore extends SignedPreKeyStore {
  records = new Map();
  async saveSignedPreKey(id, record) {
    this.records.set(id, record);
  }
  async getSignedPreKey(id) {
    return this.records.get(id);
  }
}

class MemoryKyberPreKeyStore extends KyberPreKeyStore {
  records = new Map();
  async saveKyberPreKey(id, record) {
    this.records.set(id, record);
  }
  async getKyberPreKey(id) {
    return this.records.get(id);
  }
  async markKyberPreKeyUsed(id) {
    this.records.delete(id);
  }
}

/** Returns an async function that performs one complete session setup per call. */
export function libsignalSessionSetup() {
  const aliceIdentity = IdentityKeyPair.generate();
  const bobIdentity = IdentityKeyPair.generate();
  const aliceAddress = ProtocolAddress.new('alice', 1);
  const bobAddress = ProtocolAddress.new('bob', 1);
  const bobPreKeys = new MemoryPreKeyStore();
  const bobSignedPreKeys = new MemorySignedPreKeyStore();
  const bobKyberPreKeys = new MemoryKyberPreKeyStore();
  const signedPreKey = PrivateKey.generate();
  const signedPreKeySignature = bobIdentity.privateKey.sign(signedPreKey.getPublicKey().serialize());
  bobSignedPreKeys.records.set(
    1,
    SignedPreKeyRecord.new(1, Date.now(), signedPreKey.getPublicKey(), signedPreKey, signedPreKeySignature),
  );
  const plaintext = new TextEncoder().encode('confirm');
  let nextId = 1;

  return async function setup() {
    const id = nextId++;
    // Bob's one-time prekeys for this setup (published ahead in the real flow).
    const preKey = PrivateKey.generate();
    const kyber = KEMKeyPair.generate();
    const kyberSignature = bobIdentity.privateKey.sign(kyber.getPublicKey().serialize());
    await bobPreKeys.savePreKey(id, PreKeyRecord.new(id, preKey.getPublicKey(), preKey));
    await bobKyberPreKeys.saveKyberPreKey(id, KyberPreKeyRecord.new(id, Date.now(), kyber, kyberSignature));
    const bundle = PreKeyBundle.new(
      2,
      1,
      id,
      preKey.getPublicKey(),
      1,
      signedPreKey.getPublicKey(),
      signedPreKeySignature,
      bobIdentity.publicKey,
      id,
      kyber.getPublicKey(),
      kyberSignature,
    );
    // Fresh sessions each time, as for a first contact.
    const aliceSessions = new MemorySessionStore();
    const bobSessions = new MemorySessionStore();
    const aliceIdentities = new MemoryIdentityStore(aliceIdentity, 1);
    const bobIdentities = new MemoryIdentityStore(bobIdentity, 2);

    await processPreKeyBundle(bundle, bobAddress, aliceAddress, aliceSessions, aliceIdentities);
    const first = await signalEncrypt(plaintext, bobAddress, aliceAddress, aliceSessions, aliceIdentities);
    await signalDecryptPreKey(
      PreKeySignalMessage.deserialize(first.serialize()),
      aliceAddress,
      bobAddress,
      bobSessions,
      bobIdentities,
      bobPreKeys,
      bobSignedPreKeys,
      bobKyberPreKeys,
    );
    const reply = await signalEncrypt(plaintext, aliceAddress, bobAddress, bobSessions, bobIdentities);
    const opened = await signalDecrypt(
      SignalMessage.deserialize(reply.serialize()),
      bobAddress,
      aliceAddress,
      aliceSessions,
      aliceIdentities,
    );
    if (opened.length !== plaintext.length) throw new Error('libsignal session setup: the reply did not decrypt');
  };
}
