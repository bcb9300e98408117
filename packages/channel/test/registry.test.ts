import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createEnvelopeOpener,
  ensureDevelopmentKeys,
  generatePartnerKeys,
  loadPartnerRegistry,
  PartnerKeysUnavailableError,
  publicJwksOf,
  RegistryError,
  rotatePartnerKeys,
  UnknownPartnerError,
  writePartnerKeyFiles,
} from "../src/index.js";
import { registryEntry, sealerFor, shareOffer } from "./support.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "channel-registry-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;
async function registryFile(content: unknown): Promise<string> {
  const file = join(dir, `partners-${++fileCount}.json`);
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

async function loadError(content: unknown): Promise<string> {
  const error = await loadPartnerRegistry(await registryFile(content), { baseDir: dir }).catch(
    (caught) => caught,
  );
  expect(error).toBeInstanceOf(RegistryError);
  return (error as Error).message;
}

describe("partner registry", () => {
  it("loads the committed development registry", async () => {
    const registry = await loadPartnerRegistry(join(import.meta.dirname, "../../../infra/dev/partners.json"));
    expect(registry.partners().map((partner) => partner.partnerId)).toEqual(["partner-a", "partner-b"]);
    expect(registry.get("partner-b")).toEqual({
      partnerId: "partner-b",
      name: "Partner B",
      diditApplicationId: "6f1c2a0e-4b7d-4c1e-9a55-0a1b2c3d4e02",
      inboxQueue: "inbox-partner-b",
      resultsQueue: "results-partner-b",
    });
  });

  it("names the partner, the field and the rule for every invalid entry", async () => {
    const message = await loadError({
      partners: [
        registryEntry("partner-a", { didit_application_id: "not-a-uuid" }),
        registryEntry("partner-b", { inbox_queue: "inbox:partner-b" }),
        registryEntry("Partner C"),
        { ...registryEntry("partner-d"), public_keys_file: undefined },
      ],
    });
    expect(message).toContain("partners.0.didit_application_id: Invalid UUID");
    expect(message).toContain("partners.1.inbox_queue");
    expect(message).toContain("BullMQ reserves ':'");
    expect(message).toContain("partners.2.partner_id");
    expect(message).toContain("partners.3: needs exactly one of public_keys_file or public_jwks");
  });

  it("rejects duplicate partners and shared queues", async () => {
    expect(await loadError({ partners: [registryEntry("partner-a"), registryEntry("partner-a")] })).toContain(
      "duplicate partner_id partner-a",
    );
    expect(
      await loadError({
        partners: [
          registryEntry("partner-a"),
          registryEntry("partner-b", { inbox_queue: "inbox-partner-a" }),
        ],
      }),
    ).toContain("queue used twice: inbox-partner-a");
  });

  it("says which file is not JSON, and which is missing", async () => {
    expect(await loadError("{ partners: ")).toMatch(/partners-\d+\.json is not valid JSON/);
    await expect(loadPartnerRegistry(join(dir, "nowhere.json"))).rejects.toThrow(
      /cannot read partner registry .*nowhere\.json/,
    );
  });

  it("answers an unknown partner with the partners it does know", async () => {
    const registry = await loadPartnerRegistry(
      await registryFile({ partners: [registryEntry("partner-a")] }),
      {
        baseDir: dir,
      },
    );
    expect(() => registry.get("partner-q")).toThrow(UnknownPartnerError);
    expect(() => registry.get("partner-q")).toThrow(
      'unknown partner "partner-q": the registry lists partner-a',
    );
    expect(registry.find("partner-q")).toBeUndefined();
  });

  it("accepts inline public keys, and refuses private key material in them", async () => {
    const keys = { partner_id: "partner-a", current: await generatePartnerKeys("partner-a") };
    const inline = registryEntry("partner-a", {
      public_keys_file: undefined,
      public_jwks: publicJwksOf(keys),
    });
    const registry = await loadPartnerRegistry(await registryFile({ partners: [inline] }), { baseDir: dir });
    expect((await registry.encryptionKeyOf("partner-a")).kid).toBe(keys.current.encryption.kid);

    const leaked = { ...inline, public_jwks: { keys: [keys.current.signing, keys.current.encryption] } };
    const message = await loadError({ partners: [leaked] });
    expect(message).toContain("partners.0.public_jwks.keys.0: contains private key material (d)");
    expect(message).not.toContain(keys.current.signing.d);
  });

  it("refuses a public key file with the wrong key type", async () => {
    const keys = { partner_id: "partner-a", current: await generatePartnerKeys("partner-a") };
    const jwks = publicJwksOf(keys);
    await writeFile(
      join(dir, "bad.jwks.json"),
      JSON.stringify({ keys: [{ ...jwks.keys[0], crv: "P-256" }, jwks.keys[1]] }),
    );
    expect(
      await loadError({ partners: [registryEntry("partner-a", { public_keys_file: "bad.jwks.json" })] }),
    ).toMatch(/public keys of partner-a \(.*bad\.jwks\.json\): keys\.0\.crv/);
  });

  it("waits for a partner's key file to appear: sealing to it fails clearly, its first envelope is accepted", async () => {
    const file = await registryFile({ partners: [registryEntry("partner-a"), registryEntry("partner-b")] });
    const registry = await loadPartnerRegistry(file, { baseDir: dir });
    const b = await ensureDevelopmentKeys(join(dir, "keys", "partner-b"), "partner-b");
    await expect(registry.encryptionKeyOf("partner-a")).rejects.toThrow(PartnerKeysUnavailableError);
    await expect(registry.encryptionKeyOf("partner-a")).rejects.toThrow(
      /public keys of partner-a are not available yet/,
    );

    // partner-a starts for the first time and sends to B.
    const a = await ensureDevelopmentKeys(join(dir, "keys", "partner-a"), "partner-a");
    const aRegistry = await loadPartnerRegistry(file, { baseDir: dir });
    const envelope = await sealerFor(
      { registry: aRegistry, keys: { "partner-a": a.keys } } as never,
      "partner-a",
    ).seal({
      to: "partner-b",
      typ: "share-offer",
      jti: "share-first-contact",
      expiresAt: new Date(Date.now() + 60_000),
      payload: shareOffer(),
    });
    const opener = createEnvelopeOpener({ self: "partner-b", keys: b.keys, registry });
    expect((await opener.open(envelope)).ok).toBe(true);
  });

  it("finds a sender's current and previous encryption keys by kid, and looks again for a kid it does not know", async () => {
    const file = await registryFile({
      partners: [
        registryEntry("partner-a", { public_keys_file: "rotating/partner-a/public.jwks.json" }),
        registryEntry("partner-b"),
      ],
    });
    const keysDir = join(dir, "rotating", "partner-a");
    const first = { partner_id: "partner-a", current: await generatePartnerKeys("partner-a") };
    await writePartnerKeyFiles(keysDir, first);
    const registry = await loadPartnerRegistry(file, { baseDir: dir });
    const currentKid = first.current.encryption.kid;
    expect((await registry.senderEncryptionKey("partner-a", currentKid))?.kid).toBe(currentKid);
    expect(await registry.senderEncryptionKey("partner-b", currentKid)).toBeUndefined();
    expect(await registry.senderEncryptionKey("partner-z", currentKid)).toBeUndefined();

    // partner-a rotates: its new key is found on first sight, its previous one stays known.
    const rotated = rotatePartnerKeys(first, await generatePartnerKeys("partner-a"));
    await writePartnerKeyFiles(keysDir, rotated, { replace: true });
    const newKid = rotated.current.encryption.kid;
    expect((await registry.senderEncryptionKey("partner-a", newKid))?.kid).toBe(newKid);
    expect((await registry.senderEncryptionKey("partner-a", currentKid))?.kid).toBe(currentKid);
    expect((await registry.encryptionKeyOf("partner-a")).kid).toBe(newKid);
    // A signing kid is not an encryption key.
    expect(await registry.senderEncryptionKey("partner-a", rotated.current.signing.kid)).toBeUndefined();
  });

  it("defaults relative key paths to the repository root above the registry file", async () => {
    const root = join(dir, "repo");
    await mkdir(join(root, "infra", "dev"), { recursive: true });
    await writeFile(join(root, "pnpm-workspace.yaml"), "packages: []\n");
    const file = join(root, "infra", "dev", "partners.json");
    await writeFile(
      file,
      JSON.stringify({
        partners: [registryEntry("partner-a", { public_keys_file: ".keys/partner-a/public.jwks.json" })],
      }),
    );
    const a = await ensureDevelopmentKeys(join(root, ".keys", "partner-a"), "partner-a");
    const registry = await loadPartnerRegistry(file);
    expect((await registry.encryptionKeyOf("partner-a")).kid).toBe(a.keys.decryption[0]?.kid);
  });
});
