import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createEnvelopeOpener,
  createEnvelopeSealer,
  generatePartnerKeys,
  importPartnerPrivateKeys,
  loadPartnerRegistry,
  type PartnerKeyFile,
  type PartnerPrivateKeys,
  type PartnerRegistry,
  rotatePartnerKeys,
  writePartnerKeyFiles,
} from "../src/index.js";
import {
  createPartnerWorld,
  headerOf,
  openerFor,
  type PartnerWorld,
  sealerFor,
  shareOffer,
} from "./support.js";

let world: PartnerWorld;
beforeAll(async () => {
  world = await createPartnerWorld(["partner-a", "partner-b"]);
});
afterAll(async () => {
  await world.cleanup();
});

const offer = (jti: string) =>
  ({
    to: "partner-b",
    typ: "share-offer",
    jti,
    expiresAt: new Date(Date.now() + 300_000),
    payload: shareOffer(),
  }) as const;

async function rotate(partnerId: string): Promise<PartnerKeyFile> {
  const rotated = rotatePartnerKeys(
    world.keyFiles[partnerId] as PartnerKeyFile,
    await generatePartnerKeys(partnerId),
  );
  await writePartnerKeyFiles(world.keysDir(partnerId), rotated, { replace: true });
  return rotated;
}

describe("key rotation", () => {
  it("opens envelopes sealed to the previous key until that key is dropped", async () => {
    // A sealed before it learnt of B's rotation.
    const inFlight = await sealerFor(world, "partner-a").seal(offer("share-before-rotation"));
    const rotated = await rotate("partner-b");
    const receiver = {
      ...world,
      keys: { ...world.keys, "partner-b": await importPartnerPrivateKeys(rotated) },
    };
    expect(headerOf(inFlight)).toMatchObject({ alg: "dir", kid: rotated.previous?.encryption.kid });
    expect((await openerFor(receiver, "partner-b").open(inFlight)).ok).toBe(true);

    const { previous: _dropped, ...withoutPrevious } = rotated;
    const afterGracePeriod = {
      ...world,
      keys: { ...world.keys, "partner-b": await importPartnerPrivateKeys(withoutPrevious) },
    };
    expect(await openerFor(afterGracePeriod, "partner-b").open(inFlight)).toEqual({
      ok: false,
      reason: "undecryptable",
    });
  });

  it("seals to the receiver's new key once its public key file changes", async () => {
    const registry = await loadPartnerRegistry(world.registryFile, { baseDir: world.dir, keysRefreshMs: 0 });
    const before = await registry.encryptionKeyOf("partner-b");
    const rotated = await rotate("partner-b");
    const after = await registry.encryptionKeyOf("partner-b");
    expect(before.kid).not.toBe(after.kid);
    expect(after.kid).toBe(rotated.current.encryption.kid);
    world.keyFiles["partner-b"] = rotated;
    world.keys["partner-b"] = await importPartnerPrivateKeys(rotated);
  });

  it("verifies envelopes signed with the sender's previous key, and picks up its new key on first sight", async () => {
    // B's registry was loaded before A rotated.
    const registry = await loadPartnerRegistry(world.registryFile, { baseDir: world.dir });
    const signedBefore = await sealerFor(world, "partner-a").seal(offer("share-old-signature"));
    const rotated = await rotate("partner-a");
    world.keyFiles["partner-a"] = rotated;
    world.keys["partner-a"] = await importPartnerPrivateKeys(rotated);
    const signedAfter = await sealerFor(world, "partner-a").seal(offer("share-new-signature"));

    const opener = createEnvelopeOpener({
      self: "partner-b",
      keys: world.keys["partner-b"] as never,
      registry,
    });
    expect((await opener.open(signedAfter)).ok).toBe(true);
    expect((await opener.open(signedBefore)).ok).toBe(true);
  });
});

/**
 * `dir` envelopes take their content key from both partners' encryption keys, so either side's
 * rotation changes it; each side accepts the current and previous generation of both.
 */
describe("key rotation with content keys derived from both partners' encryption keys", () => {
  let pair: PartnerWorld;
  beforeAll(async () => {
    pair = await createPartnerWorld(["partner-a", "partner-b"]);
  });
  afterAll(async () => {
    await pair.cleanup();
  });

  async function rotateIn(partnerId: string): Promise<PartnerKeyFile> {
    const rotated = rotatePartnerKeys(
      pair.keyFiles[partnerId] as PartnerKeyFile,
      await generatePartnerKeys(partnerId),
    );
    await writePartnerKeyFiles(pair.keysDir(partnerId), rotated, { replace: true });
    pair.keyFiles[partnerId] = rotated;
    pair.keys[partnerId] = await importPartnerPrivateKeys(rotated);
    return rotated;
  }

  /** A partner's view of the registry, loaded now (and checking for rotations every `refreshMs`). */
  const registryNow = (refreshMs?: number) =>
    loadPartnerRegistry(pair.registryFile, { baseDir: pair.dir, keysRefreshMs: refreshMs });

  const sealAToB = (registry: PartnerRegistry, jti: string) =>
    createEnvelopeSealer({
      self: "partner-a",
      keys: pair.keys["partner-a"] as PartnerPrivateKeys,
      registry,
    }).seal(offer(jti));

  const openAtB = async (registry: PartnerRegistry, envelope: string) =>
    createEnvelopeOpener({
      self: "partner-b",
      keys: pair.keys["partner-b"] as PartnerPrivateKeys,
      registry,
    }).open(envelope, "share-offer");

  it("opens envelopes derived from the sender's previous encryption key, and from its new one on first sight", async () => {
    const bRegistry = await registryNow();
    const before = await sealAToB(await registryNow(), "share-sender-before");
    const rotated = await rotateIn("partner-a");
    const after = await sealAToB(await registryNow(), "share-sender-after");
    expect(headerOf(before).skid).toBe(rotated.previous?.encryption.kid);
    expect(headerOf(after).skid).toBe(rotated.current.encryption.kid);

    // B loaded A's keys before the rotation: the new skid makes it read A's key file again.
    expect(await openAtB(bRegistry, after)).toMatchObject({
      ok: true,
      claims: { jti: "share-sender-after" },
    });
    expect(await openAtB(bRegistry, before)).toMatchObject({
      ok: true,
      claims: { jti: "share-sender-before" },
    });
    // B loading A's keys only now finds the previous key in A's published JWKS.
    expect(await openAtB(await registryNow(), before)).toMatchObject({ ok: true });
  });

  it("opens envelopes derived from the receiver's previous encryption key, and seals to its new one once seen", async () => {
    const aRegistry = await registryNow(0);
    const before = await sealAToB(aRegistry, "share-receiver-before");
    const rotated = await rotateIn("partner-b");
    expect(headerOf(before).kid).toBe(rotated.previous?.encryption.kid);
    expect(await openAtB(await registryNow(), before)).toMatchObject({ ok: true });

    const after = await sealAToB(aRegistry, "share-receiver-after");
    expect(headerOf(after).kid).toBe(rotated.current.encryption.kid);
    expect(await openAtB(await registryNow(), after)).toMatchObject({ ok: true });
  });

  it("opens an envelope sealed before both rotated, until either side drops that generation", async () => {
    const envelope = await sealAToB(await registryNow(), "share-both-rotated");
    await rotateIn("partner-a");
    await rotateIn("partner-b");
    expect(await openAtB(await registryNow(), envelope)).toMatchObject({ ok: true });

    // A rotates again: the key the envelope was derived from is no longer published.
    await rotateIn("partner-a");
    expect(await openAtB(await registryNow(), envelope)).toEqual({ ok: false, reason: "unknown_sender" });
    // B rotates again: the key it was sealed to is gone too; that is checked first.
    await rotateIn("partner-b");
    expect(await openAtB(await registryNow(), envelope)).toEqual({ ok: false, reason: "undecryptable" });
  });
});
