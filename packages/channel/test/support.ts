import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompactEncrypt, CompactSign } from "jose";
import { contentKeyFor } from "../src/content-keys.js";
import {
  createEnvelopeOpener,
  createEnvelopeSealer,
  type EnvelopeOpenerOptions,
  generatePartnerKeys,
  importPartnerPrivateKeys,
  type KeyHandle,
  loadPartnerRegistry,
  type PartnerKeyFile,
  type PartnerPrivateKeys,
  type PartnerRegistry,
  type ShareOfferPayload,
  writePartnerKeyFiles,
} from "../src/index.js";

export const APPLICATION_IDS: Record<string, string> = {
  "partner-a": "6f1c2a0e-4b7d-4c1e-9a55-0a1b2c3d4e01",
  "partner-b": "6f1c2a0e-4b7d-4c1e-9a55-0a1b2c3d4e02",
  "partner-c": "6f1c2a0e-4b7d-4c1e-9a55-0a1b2c3d4e03",
};

export function registryEntry(partnerId: string, extra: Record<string, unknown> = {}) {
  return {
    partner_id: partnerId,
    name: partnerId,
    didit_application_id: APPLICATION_IDS[partnerId] ?? "6f1c2a0e-4b7d-4c1e-9a55-0a1b2c3d4e09",
    inbox_queue: `inbox-${partnerId}`,
    results_queue: `results-${partnerId}`,
    public_keys_file: `keys/${partnerId}/public.jwks.json`,
    ...extra,
  };
}

/** Partners with keys on disk under one temporary folder, and a registry naming them all. */
export interface PartnerWorld {
  dir: string;
  registryFile: string;
  registry: PartnerRegistry;
  keyFiles: Record<string, PartnerKeyFile>;
  keys: Record<string, PartnerPrivateKeys>;
  keysDir(partnerId: string): string;
  cleanup(): Promise<void>;
}

export async function createPartnerWorld(
  partnerIds = ["partner-a", "partner-b", "partner-c"],
): Promise<PartnerWorld> {
  const dir = await mkdtemp(join(tmpdir(), "channel-"));
  const keysDir = (partnerId: string) => join(dir, "keys", partnerId);
  const keyFiles: Record<string, PartnerKeyFile> = {};
  const keys: Record<string, PartnerPrivateKeys> = {};
  for (const partnerId of partnerIds) {
    const file: PartnerKeyFile = { partner_id: partnerId, current: await generatePartnerKeys(partnerId) };
    await writePartnerKeyFiles(keysDir(partnerId), file);
    keyFiles[partnerId] = file;
    keys[partnerId] = await importPartnerPrivateKeys(file);
  }
  const registryFile = join(dir, "partners.json");
  await writeFile(registryFile, JSON.stringify({ partners: partnerIds.map((id) => registryEntry(id)) }));
  const registry = await loadPartnerRegistry(registryFile, { baseDir: dir });
  return {
    dir,
    registryFile,
    registry,
    keyFiles,
    keys,
    keysDir,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export function sealerFor(world: PartnerWorld, self: string, now?: () => Date) {
  return createEnvelopeSealer({
    self,
    keys: world.keys[self] as PartnerPrivateKeys,
    registry: world.registry,
    now,
  });
}

export function openerFor(world: PartnerWorld, self: string, options: Partial<EnvelopeOpenerOptions> = {}) {
  return createEnvelopeOpener({
    self,
    keys: world.keys[self] as PartnerPrivateKeys,
    registry: world.registry,
    ...options,
  });
}

export function shareOffer(overrides: Partial<ShareOfferPayload> = {}): ShareOfferPayload {
  return {
    share_token: "eyJhbGciOiJIUzI1NiJ9.c2hhcmU.token-signature",
    session_kind: "first",
    purpose: "account opening",
    scope: "identity",
    consent_id: "1f4e0d1c-6a5b-4c3d-8e9f-0a1b2c3d4e5f",
    link_code: "q3Zr8Kx1vN0bT6yW2mLcH9sD4fGjP7aE5uQiV0oXk1M",
    user_pseudonym: "psn_8c1d",
    token_expires_at: new Date(Date.now() + 900_000).toISOString(),
    ...overrides,
  };
}

const encoder = new TextEncoder();

/** Builds an envelope by hand, to produce what an honest sealer never would. */
export async function craftEnvelope(options: {
  claims: Record<string, unknown>;
  signWith: KeyHandle;
  encryptTo: KeyHandle;
  jwsHeader?: Record<string, unknown>;
}): Promise<string> {
  const jws = await new CompactSign(encoder.encode(JSON.stringify(options.claims)))
    .setProtectedHeader({ alg: "EdDSA", kid: options.signWith.kid, typ: "JWT", ...options.jwsHeader })
    .sign(options.signWith.key);
  return new CompactEncrypt(encoder.encode(jws))
    .setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM", kid: options.encryptTo.kid, cty: "JWT" })
    .encrypt(options.encryptTo.key);
}

/**
 * Builds a `dir` envelope by hand: the content key is derived from `sealer`'s encryption private key
 * and `receiver`'s encryption public key, as an honest sealer would (or as a partner misusing its own
 * key could); `header` then overrides members of the protected header.
 */
export async function craftDirectEnvelope(options: {
  claims: Record<string, unknown>;
  signWith: KeyHandle;
  sealer: { partnerId: string; key: KeyHandle };
  receiver: { partnerId: string; key: KeyHandle };
  header?: Record<string, unknown>;
}): Promise<string> {
  const { sealer, receiver } = options;
  const jws = await new CompactSign(encoder.encode(JSON.stringify(options.claims)))
    .setProtectedHeader({ alg: "EdDSA", kid: options.signWith.kid, typ: "JWT" })
    .sign(options.signWith.key);
  const contentKey = contentKeyFor(
    {
      ownKey: sealer.key,
      peerKey: receiver.key,
      sender: { partnerId: sealer.partnerId, kid: sealer.key.kid },
      receiver: { partnerId: receiver.partnerId, kid: receiver.key.kid },
    },
    { cached: false },
  );
  return new CompactEncrypt(encoder.encode(jws))
    .setProtectedHeader({
      alg: "dir",
      enc: "A256GCM",
      cty: "JWT",
      kid: receiver.key.kid,
      skid: sealer.key.kid,
      iss: sealer.partnerId,
      aud: receiver.partnerId,
      ...options.header,
    })
    .encrypt(contentKey);
}

/** The protected header of a compact JWE or JWS. */
export function headerOf(compact: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(compact.split(".")[0] as string, "base64url").toString("utf8"));
}

/** The same envelope with its protected header replaced (canonically encoded), nothing else changed. */
export function withHeader(compact: string, header: Record<string, unknown>): string {
  const segments = compact.split(".");
  segments[0] = Buffer.from(JSON.stringify(header)).toString("base64url");
  return segments.join(".");
}

/** A receiver's current encryption key as a sender sees it. */
export function encryptionKeyOf(world: PartnerWorld, partnerId: string): Promise<KeyHandle> {
  return world.registry.encryptionKeyOf(partnerId);
}

export function claimsFor(from: string, to: string, overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: from,
    aud: to,
    jti: "7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6",
    iat: now,
    exp: now + 300,
    typ: "share-offer",
    payload: shareOffer(),
    ...overrides,
  };
}

/** Replaces one character, keeping the length. */
export function replaceCharAt(text: string, index: number, replacement: string): string {
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
