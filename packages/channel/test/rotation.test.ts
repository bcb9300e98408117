import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createEnvelopeOpener,
  generatePartnerKeys,
  importPartnerPrivateKeys,
  loadPartnerRegistry,
  type PartnerKeyFile,
  rotatePartnerKeys,
  writePartnerKeyFiles,
} from "../src/index.js";
import { createPartnerWorld, openerFor, type PartnerWorld, sealerFor, shareOffer } from "./support.js";

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
