import {
  createCipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
} from "node:crypto";
import { CompactEncrypt, CompactSign, compactDecrypt, compactVerify, importJWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_KEY_LABEL } from "../src/index.js";
import { toPublicJwk } from "../src/jwk.js";
import {
  claimsFor,
  createPartnerWorld,
  headerOf,
  openerFor,
  type PartnerWorld,
  sealerFor,
  shareOffer,
} from "./support.js";

// Envelopes are sealed and opened with node:crypto; jose is the reference implementation of the
// wire format (RFC 7515/7516 compact serialization) that both must keep agreeing with.

let world: PartnerWorld;
beforeAll(async () => {
  world = await createPartnerWorld(["partner-a", "partner-b"]);
});
afterAll(async () => {
  await world.cleanup();
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function keyFileOf(partnerId: string) {
  const file = world.keyFiles[partnerId];
  if (!file) throw new Error(`no keys for ${partnerId}`);
  return file.current;
}

/** The content key of `from` → `to` as docs/PROTOCOL.md#envelope documents it, from the key files alone. */
function documentedContentKey(from: string, to: string): Uint8Array {
  const sender = keyFileOf(from).encryption;
  const receiver = keyFileOf(to).encryption;
  const shared = diffieHellman({
    privateKey: createPrivateKey({ key: receiver, format: "jwk" }),
    publicKey: createPublicKey({ key: toPublicJwk(sender), format: "jwk" }),
  });
  const info = [CONTENT_KEY_LABEL, "A256GCM", from, sender.kid, to, receiver.kid];
  return new Uint8Array(
    hkdfSync("sha256", shared, Buffer.from(CONTENT_KEY_LABEL), Buffer.from(JSON.stringify(info)), 32),
  );
}

function directHeader(from: string, to: string) {
  return {
    alg: "dir",
    enc: "A256GCM",
    cty: "JWT",
    kid: keyFileOf(to).encryption.kid,
    skid: keyFileOf(from).encryption.kid,
    iss: from,
    aud: to,
  };
}

async function jwsOf(claims: Record<string, unknown>, from: string, header: Record<string, unknown> = {}) {
  const signing = keyFileOf(from).signing;
  return new CompactSign(encoder.encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: "EdDSA", kid: signing.kid, typ: "JWT", ...header })
    .sign(await importJWK(signing, "EdDSA"));
}

/**
 * A `dir` envelope encrypted by hand under the right content key, so that only the one thing a test
 * changes (an IV length, a header member) can be why it is refused.
 */
function encryptByHand(options: {
  jws: string;
  header: Record<string, unknown>;
  key: Uint8Array;
  ivBytes?: number;
}): string {
  const header = Buffer.from(JSON.stringify(options.header)).toString("base64url");
  const iv = randomBytes(options.ivBytes ?? 12);
  const cipher = createCipheriv("aes-256-gcm", options.key, iv);
  cipher.setAAD(Buffer.from(header, "ascii"));
  const ciphertext = Buffer.concat([cipher.update(options.jws, "utf8"), cipher.final()]);
  return [header, "", iv, ciphertext, cipher.getAuthTag()]
    .map((segment) => (typeof segment === "string" ? segment : segment.toString("base64url")))
    .join(".");
}

async function sealOffer(jti = "share-wire-1") {
  return sealerFor(world, "partner-a").seal({
    to: "partner-b",
    typ: "share-offer",
    jti,
    expiresAt: new Date(Date.now() + 300_000),
    payload: shareOffer(),
  });
}

describe("envelope wire format", () => {
  it("opens with jose alone an envelope sealed by the channel: compactDecrypt with the content key, then compactVerify", async () => {
    const envelope = await sealOffer();
    const { plaintext, protectedHeader } = await compactDecrypt(
      envelope,
      documentedContentKey("partner-a", "partner-b"),
      { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] },
    );
    expect(protectedHeader).toEqual(directHeader("partner-a", "partner-b"));
    const jws = decoder.decode(plaintext);
    const signing = keyFileOf("partner-a").signing;
    const verified = await compactVerify(jws, await importJWK(toPublicJwk(signing), "EdDSA"), {
      algorithms: ["EdDSA"],
    });
    expect(verified.protectedHeader).toEqual({ alg: "EdDSA", kid: signing.kid, typ: "JWT" });
    const claims = JSON.parse(decoder.decode(verified.payload));
    expect(claims).toMatchObject({ iss: "partner-a", aud: "partner-b", jti: "share-wire-1" });
    // Ed25519 is deterministic: jose signing the same claims writes the very same JWS.
    expect(await jwsOf(claims, "partner-a")).toBe(jws);
    const [, , iv, , tag] = envelope.split(".");
    expect(Buffer.from(iv as string, "base64url")).toHaveLength(12);
    expect(Buffer.from(tag as string, "base64url")).toHaveLength(16);
  });

  it("opens an envelope sealed by jose alone: CompactSign, then CompactEncrypt with dir, A256GCM and the content key", async () => {
    const claims = claimsFor("partner-a", "partner-b", { jti: "share-wire-jose" });
    const envelope = await new CompactEncrypt(encoder.encode(await jwsOf(claims, "partner-a")))
      .setProtectedHeader(directHeader("partner-a", "partner-b"))
      .encrypt(documentedContentKey("partner-a", "partner-b"));
    expect(await openerFor(world, "partner-b").open(envelope, "share-offer")).toEqual({ ok: true, claims });
  });

  it("opens an envelope encrypted by hand the way the tests below build theirs", async () => {
    const jws = await jwsOf(claimsFor("partner-a", "partner-b"), "partner-a");
    const envelope = encryptByHand({
      jws,
      header: directHeader("partner-a", "partner-b"),
      key: documentedContentKey("partner-a", "partner-b"),
    });
    expect((await openerFor(world, "partner-b").open(envelope)).ok).toBe(true);
  });

  it("rejects a truncated tag (15 or 8 bytes) as undecryptable, though GCM would check the bytes left", async () => {
    const envelope = await sealOffer();
    const opener = openerFor(world, "partner-b");
    expect((await opener.open(envelope)).ok).toBe(true);
    const segments = envelope.split(".");
    const tag = Buffer.from(segments[4] as string, "base64url");
    for (const length of [15, 8]) {
      segments[4] = tag.subarray(0, length).toString("base64url");
      expect(await opener.open(segments.join("."))).toEqual({ ok: false, reason: "undecryptable" });
    }
  });

  it("rejects an IV of another length than 96 bits as undecryptable, though encrypted under the right key", async () => {
    const jws = await jwsOf(claimsFor("partner-a", "partner-b"), "partner-a");
    const opener = openerFor(world, "partner-b");
    for (const ivBytes of [16, 8]) {
      const envelope = encryptByHand({
        jws,
        header: directHeader("partner-a", "partner-b"),
        key: documentedContentKey("partner-a", "partner-b"),
        ivBytes,
      });
      expect(await opener.open(envelope)).toEqual({ ok: false, reason: "undecryptable" });
    }
  });

  it("rejects a dir header carrying zip or crit as malformed, though encrypted under the right key", async () => {
    const jws = await jwsOf(claimsFor("partner-a", "partner-b"), "partner-a");
    const opener = openerFor(world, "partner-b");
    const header = directHeader("partner-a", "partner-b");
    for (const extension of [{ zip: "DEF" }, { crit: ["exp"], exp: 1 }, { crit: [] }]) {
      const envelope = encryptByHand({
        jws,
        header: { ...header, ...extension },
        key: documentedContentKey("partner-a", "partner-b"),
      });
      expect({ extension, result: await opener.open(envelope) }).toEqual({
        extension,
        result: { ok: false, reason: "malformed" },
      });
    }
  });

  it("rejects a JWS header carrying crit or b64 as malformed, even one jose would verify", async () => {
    const opener = openerFor(world, "partner-b");
    for (const extension of [{ crit: ["b64"], b64: true }, { b64: true }]) {
      const jws = await jwsOf(claimsFor("partner-a", "partner-b"), "partner-a", extension);
      const envelope = await new CompactEncrypt(encoder.encode(jws))
        .setProtectedHeader(directHeader("partner-a", "partner-b"))
        .encrypt(documentedContentKey("partner-a", "partner-b"));
      expect(headerOf(jws)).toMatchObject(extension);
      expect(await opener.open(envelope)).toEqual({ ok: false, reason: "malformed" });
    }
  });
});
