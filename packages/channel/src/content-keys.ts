import { createSecretKey, diffieHellman, hkdfSync, type KeyObject } from "node:crypto";
import { CONTENT_ENCRYPTION_ALG, type ImportedKey, type KeyHandle, keyObjectOf } from "./jwk.js";

/**
 * Content keys of `dir` envelopes (docs/PROTOCOL.md#envelope): one AES-256-GCM key per direction of a peer
 * pair and per key generation, derived from the static X25519 agreement between the sender's and the
 * receiver's encryption keys:
 *
 *   shared = X25519(own encryption private key, peer's encryption public key)
 *   key    = HKDF-SHA256(ikm = shared, salt = CONTENT_KEY_LABEL,
 *                        info = JSON [CONTENT_KEY_LABEL, "A256GCM", sender id, sender enc kid,
 *                                     receiver id, receiver enc kid], 32 bytes)
 *
 * Both ends compute the same key (the agreement is symmetric); the info names the direction, so
 * A→B and B→A keys differ, and it names both kids, so a rotation on either side gives a new key.
 * The key is a node:crypto KeyObject: envelopes are encrypted and decrypted with node:crypto too
 * (direct-jwe.ts), synchronously, without a WebCrypto job per envelope.
 */
export const CONTENT_KEY_LABEL = "share-broker/channel/envelope-content-key/v1";

export interface ContentKeyParty {
  partnerId: string;
  /** The kid of this party's encryption key taking part in the agreement. */
  kid: string;
}

export interface ContentKeyAgreement {
  /** Our encryption private key (the sender's when sealing, the receiver's when opening). */
  ownKey: KeyHandle;
  /** The peer's encryption public key. */
  peerKey: KeyHandle;
  sender: ContentKeyParty;
  receiver: ContentKeyParty;
}

const salt = Buffer.from(CONTENT_KEY_LABEL, "utf8");

/** The HKDF info: JSON, so no choice of ids can make two different parties encode the same. */
export function contentKeyInfo(sender: ContentKeyParty, receiver: ContentKeyParty): Buffer {
  return Buffer.from(
    JSON.stringify([
      CONTENT_KEY_LABEL,
      CONTENT_ENCRYPTION_ALG,
      sender.partnerId,
      sender.kid,
      receiver.partnerId,
      receiver.kid,
    ]),
    "utf8",
  );
}

function deriveContentKey(agreement: ContentKeyAgreement): KeyObject {
  const shared = diffieHellman({
    privateKey: keyObjectOf(agreement.ownKey.key),
    publicKey: keyObjectOf(agreement.peerKey.key),
  });
  const bytes = new Uint8Array(
    hkdfSync("sha256", shared, salt, contentKeyInfo(agreement.sender, agreement.receiver), 32),
  );
  shared.fill(0);
  try {
    // The KeyObject holds its own copy, so ours can be wiped.
    return createSecretKey(bytes);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Derived keys, cached by the very key objects they come from (a registry reload or a rotation
 * brings new objects, so a cached key never outlives the keys it was derived from), then by parties.
 * Entries are bounded by the registered partners and their published keys.
 */
const cache = new WeakMap<ImportedKey, WeakMap<ImportedKey, Map<string, KeyObject>>>();

/**
 * The AES-256-GCM key of one direction of a peer pair, derived on first use and then cached.
 * `cached: false` derives without remembering (for headers naming parties we do not expect).
 */
export function contentKeyFor(agreement: ContentKeyAgreement, options: { cached?: boolean } = {}): KeyObject {
  if (options.cached === false) return deriveContentKey(agreement);
  let byPeer = cache.get(agreement.ownKey.key);
  if (!byPeer) {
    byPeer = new WeakMap();
    cache.set(agreement.ownKey.key, byPeer);
  }
  let byParties = byPeer.get(agreement.peerKey.key);
  if (!byParties) {
    byParties = new Map();
    byPeer.set(agreement.peerKey.key, byParties);
  }
  const { sender, receiver } = agreement;
  const id = JSON.stringify([sender.partnerId, sender.kid, receiver.partnerId, receiver.kid]);
  let key = byParties.get(id);
  if (!key) {
    // A failed derivation throws before anything is remembered: the next envelope tries again.
    key = deriveContentKey(agreement);
    byParties.set(id, key);
  }
  return key;
}
