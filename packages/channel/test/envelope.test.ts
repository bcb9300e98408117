import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from "node:crypto";
import { compactDecrypt, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compactSegments } from "../src/compact.js";
import {
  CONTENT_KEY_LABEL,
  createEnvelopeSealer,
  EnvelopeSealError,
  generatePartnerKeys,
  importPartnerPrivateKeys,
  type KeyHandle,
  type PartnerPrivateKeys,
  UnknownPartnerError,
} from "../src/index.js";
import {
  claimsFor,
  craftDirectEnvelope,
  craftEnvelope,
  createPartnerWorld,
  encryptionKeyOf,
  headerOf,
  openerFor,
  type PartnerWorld,
  replaceCharAt,
  sealerFor,
  shareOffer,
  withHeader,
} from "./support.js";

let world: PartnerWorld;
beforeAll(async () => {
  world = await createPartnerWorld();
});
afterAll(async () => {
  await world.cleanup();
});

const inFiveMinutes = () => new Date(Date.now() + 300_000);
const signingKeyOf = (partnerId: string) =>
  world.keys[partnerId]?.signing as NonNullable<typeof world.keys.x>["signing"];
/** A partner's current encryption private key. */
const ownEncryptionKey = (partnerId: string) => world.keys[partnerId]?.decryption[0] as KeyHandle;

/** A `dir` envelope as `from` would seal it to `to` (content key from their encryption keys). */
async function directEnvelope(
  from: string,
  to: string,
  options: { claims?: Record<string, unknown>; signWith?: KeyHandle; header?: Record<string, unknown> } = {},
) {
  return craftDirectEnvelope({
    claims: options.claims ?? claimsFor(from, to),
    signWith: options.signWith ?? signingKeyOf(from),
    sealer: { partnerId: from, key: ownEncryptionKey(from) },
    receiver: { partnerId: to, key: await encryptionKeyOf(world, to) },
    header: options.header,
  });
}

async function sealOffer(overrides: Partial<Parameters<ReturnType<typeof sealerFor>["seal"]>[0]> = {}) {
  return sealerFor(world, "partner-a").seal({
    to: "partner-b",
    typ: "share-offer",
    jti: "0b8f5a52-3d1c-4f7e-9a6b-2c4d6e8f0a1b",
    expiresAt: inFiveMinutes(),
    payload: shareOffer(),
    ...overrides,
  } as Parameters<ReturnType<typeof sealerFor>["seal"]>[0]);
}

describe("sealing and opening", () => {
  it("opens a share offer sealed by A for B, with every claim intact", async () => {
    const payload = shareOffer({
      trace: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    });
    const envelope = await sealOffer({ payload });
    const opened = await openerFor(world, "partner-b").open(envelope, "share-offer");
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.claims).toMatchObject({ iss: "partner-a", aud: "partner-b", typ: "share-offer", payload });
    expect(opened.claims.payload.share_token).toBe(payload.share_token);
    expect(opened.claims.exp - opened.claims.iat).toBeGreaterThan(290);
  });

  it("opens an import result sealed by B for A", async () => {
    const payload = {
      share_id: "0b8f5a52-3d1c-4f7e-9a6b-2c4d6e8f0a1b",
      outcome: "imported" as const,
      sequence: 1,
      import_id: "imp_1",
      session_status: "Approved",
      at: new Date().toISOString(),
    };
    const envelope = await sealerFor(world, "partner-b").seal({
      to: "partner-a",
      typ: "import-result",
      jti: payload.share_id,
      expiresAt: inFiveMinutes(),
      payload,
    });
    const opened = await openerFor(world, "partner-a").open(envelope, "import-result");
    expect(opened).toMatchObject({ ok: true, claims: { iss: "partner-b", typ: "import-result", payload } });
  });

  it("is a compact dir JWE whose header names both encryption keys and both partners, wrapping a JWS naming the signing key", async () => {
    const envelope = await sealOffer();
    const [header, encryptedKey] = compactSegments(envelope, 5) ?? [];
    const decoded = JSON.parse(Buffer.from(header as string, "base64url").toString());
    const receiverKey = await encryptionKeyOf(world, "partner-b");
    expect(decoded).toEqual({
      alg: "dir",
      enc: "A256GCM",
      cty: "JWT",
      kid: receiverKey.kid,
      skid: ownEncryptionKey("partner-a").kid,
      iss: "partner-a",
      aud: "partner-b",
    });
    // No per-message key agreement: no ephemeral key, no wrapped key.
    expect(encryptedKey).toBe("");
    // Nothing readable leaks outside the encryption.
    expect(envelope).not.toContain("share");
    const opened = await openerFor(world, "partner-b").open(envelope);
    expect(opened.ok).toBe(true);
  });

  it("derives the content key as documented: HKDF-SHA256 over the static X25519 agreement, bound to both partners and kids", async () => {
    const envelope = await sealOffer();
    const a = world.keyFiles["partner-a"]?.current.encryption;
    const b = world.keyFiles["partner-b"]?.current.encryption;
    if (!a || !b) throw new Error("world without keys");
    // Computed here from the key files with node:crypto alone, not with the package's code.
    const derive = (info: unknown[]) =>
      new Uint8Array(
        hkdfSync(
          "sha256",
          diffieHellman({
            privateKey: createPrivateKey({ key: b, format: "jwk" }),
            publicKey: createPublicKey({ key: { kty: a.kty, crv: a.crv, x: a.x }, format: "jwk" }),
          }),
          Buffer.from(CONTENT_KEY_LABEL),
          Buffer.from(JSON.stringify(info)),
          32,
        ),
      );
    const documented = derive([CONTENT_KEY_LABEL, "A256GCM", "partner-a", a.kid, "partner-b", b.kid]);
    const { plaintext } = await compactDecrypt(envelope, documented);
    expect(headerOf(new TextDecoder().decode(plaintext))).toMatchObject({
      alg: "EdDSA",
      kid: signingKeyOf("partner-a").kid,
    });
    // The other direction, or another pairing of ids, is another key.
    for (const info of [
      [CONTENT_KEY_LABEL, "A256GCM", "partner-b", b.kid, "partner-a", a.kid],
      [CONTENT_KEY_LABEL, "A256GCM", "partner-a", a.kid, "partner-c", b.kid],
    ]) {
      await expect(compactDecrypt(envelope, derive(info))).rejects.toThrow();
    }
  });

  it("seals with a fresh IV each time, so two envelopes of the same claims differ", async () => {
    const first = await sealOffer();
    const second = await sealOffer();
    expect(first).not.toBe(second);
    expect(first.split(".")[2]).not.toBe(second.split(".")[2]);
  });

  it("seals the first format (ECDH-ES+A256KW) only when asked, and still opens it", async () => {
    const legacySealer = createEnvelopeSealer({
      self: "partner-a",
      keys: world.keys["partner-a"] as PartnerPrivateKeys,
      registry: world.registry,
      keyManagement: "ECDH-ES+A256KW",
    });
    const envelope = await legacySealer.seal({
      to: "partner-b",
      typ: "share-offer",
      jti: "share-legacy-1",
      expiresAt: inFiveMinutes(),
      payload: shareOffer(),
    });
    const header = headerOf(envelope);
    expect(header).toMatchObject({ alg: "ECDH-ES+A256KW", enc: "A256GCM", cty: "JWT" });
    expect(header.epk).toMatchObject({ kty: "OKP", crv: "X25519" });
    expect(header.skid).toBeUndefined();
    expect(await openerFor(world, "partner-b").open(envelope, "share-offer")).toMatchObject({
      ok: true,
      claims: { iss: "partner-a", aud: "partner-b", jti: "share-legacy-1" },
    });
    expect(() =>
      createEnvelopeSealer({
        self: "partner-a",
        keys: world.keys["partner-a"] as PartnerPrivateKeys,
        registry: world.registry,
        keyManagement: "A256KW" as never,
      }),
    ).toThrow(/unknown key management/);
  });

  it("opens envelopes of the first format sealed before the upgrade (in flight), built with jose alone", async () => {
    const envelope = await craftEnvelope({
      claims: claimsFor("partner-a", "partner-b", { jti: "share-in-flight" }),
      signWith: signingKeyOf("partner-a"),
      encryptTo: await encryptionKeyOf(world, "partner-b"),
    });
    expect(headerOf(envelope).alg).toBe("ECDH-ES+A256KW");
    expect(await openerFor(world, "partner-b").open(envelope)).toMatchObject({
      ok: true,
      claims: { iss: "partner-a", jti: "share-in-flight" },
    });
  });

  it("never lets a share offer outlive the token it carries", async () => {
    const tokenExpiry = new Date(Date.now() + 120_000);
    const envelope = await sealOffer({
      expiresAt: new Date(Date.now() + 3_600_000),
      payload: shareOffer({ token_expires_at: tokenExpiry.toISOString() }),
    });
    const opened = await openerFor(world, "partner-b").open(envelope);
    expect(opened.ok && opened.claims.exp).toBe(Math.floor(tokenExpiry.getTime() / 1000));
  });

  it("refuses to seal an invalid payload, an unknown receiver or an already expired envelope", async () => {
    await expect(sealOffer({ payload: { ...shareOffer(), share_token: "" } })).rejects.toThrow(
      /invalid share-offer payload: share_token/,
    );
    await expect(sealOffer({ to: "partner-z" })).rejects.toThrow(UnknownPartnerError);
    await expect(sealOffer({ expiresAt: new Date(Date.now() - 1000) })).rejects.toThrow(EnvelopeSealError);
    await expect(
      sealOffer({ payload: shareOffer({ token_expires_at: new Date(Date.now() - 1000).toISOString() }) }),
    ).rejects.toThrow(/would be expired/);
  });

  it("refuses keys that belong to another partner", () => {
    expect(() =>
      sealerFor({ ...world, keys: { "partner-a": world.keys["partner-b"] } } as PartnerWorld, "partner-a"),
    ).toThrow(/belong to partner-b/);
  });
});

describe("rejections", () => {
  it("rejects a tampered ciphertext as undecryptable", async () => {
    const envelope = await sealOffer();
    const segments = envelope.split(".");
    const ciphertext = segments[3] as string;
    const middle = Math.floor(ciphertext.length / 2);
    segments[3] = replaceCharAt(ciphertext, middle, ciphertext[middle] === "A" ? "B" : "A");
    expect(await openerFor(world, "partner-b").open(segments.join("."))).toEqual({
      ok: false,
      reason: "undecryptable",
    });
  });

  it("rejects an envelope sealed for another receiver as undecryptable", async () => {
    const envelope = await sealOffer({ to: "partner-c" });
    expect(await openerFor(world, "partner-b").open(envelope)).toEqual({
      ok: false,
      reason: "undecryptable",
    });
  });

  it("rejects an envelope signed by a key no partner registered as unknown_sender", async () => {
    const stranger = await importPartnerPrivateKeys({
      partner_id: "partner-x",
      current: await generatePartnerKeys("partner-x"),
    });
    const envelope = await craftEnvelope({
      claims: claimsFor("partner-a", "partner-b"),
      signWith: stranger.signing,
      encryptTo: await encryptionKeyOf(world, "partner-b"),
    });
    expect(await openerFor(world, "partner-b").open(envelope)).toEqual({
      ok: false,
      reason: "unknown_sender",
    });
  });

  it("rejects a signature that does not match the named key as bad_signature", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const envelope = await craftEnvelope({
      claims: claimsFor("partner-a", "partner-b"),
      signWith: { kid: signingKeyOf("partner-a").kid, key: privateKey },
      encryptTo: await encryptionKeyOf(world, "partner-b"),
    });
    expect(await openerFor(world, "partner-b").open(envelope)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("rejects a registered partner signing in another partner's name as bad_signature", async () => {
    const envelope = await craftEnvelope({
      claims: claimsFor("partner-a", "partner-b"),
      signWith: signingKeyOf("partner-c"),
      encryptTo: await encryptionKeyOf(world, "partner-b"),
    });
    expect(await openerFor(world, "partner-b").open(envelope)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("rejects an issuer missing from the registry as unknown_sender", async () => {
    const envelope = await craftEnvelope({
      claims: claimsFor("partner-z", "partner-b"),
      signWith: signingKeyOf("partner-a"),
      encryptTo: await encryptionKeyOf(world, "partner-b"),
    });
    expect(await openerFor(world, "partner-b").open(envelope)).toEqual({
      ok: false,
      reason: "unknown_sender",
    });
  });

  it("rejects an envelope encrypted to us but addressed to another partner as wrong_audience", async () => {
    const envelope = await craftEnvelope({
      claims: claimsFor("partner-a", "partner-c"),
      signWith: signingKeyOf("partner-a"),
      encryptTo: await encryptionKeyOf(world, "partner-b"),
    });
    expect(await openerFor(world, "partner-b").open(envelope)).toMatchObject({
      ok: false,
      reason: "wrong_audience",
      sender: "partner-a",
    });
  });

  it("rejects an envelope expired by more than the clock skew, naming the sender and message", async () => {
    const envelope = await sealOffer({ jti: "share-expired-1" });
    const exp = Date.now() + 300_000;
    const later = (ms: number) => () => new Date(exp + ms);
    expect(await openerFor(world, "partner-b", { now: later(61_000) }).open(envelope)).toEqual({
      ok: false,
      reason: "expired",
      sender: "partner-a",
      jti: "share-expired-1",
    });
    expect(
      await openerFor(world, "partner-b", { now: later(61_000), clockSkewSeconds: 0 }).open(envelope),
    ).toMatchObject({
      reason: "expired",
    });
  });

  it("accepts an envelope expired by less than the clock skew", async () => {
    const envelope = await sealOffer();
    const opener = openerFor(world, "partner-b", { now: () => new Date(Date.now() + 300_000 + 45_000) });
    expect((await opener.open(envelope)).ok).toBe(true);
  });

  it("caps the clock skew at 60 s", () => {
    expect(() => openerFor(world, "partner-b", { clockSkewSeconds: 61 })).toThrow(RangeError);
  });

  it("rejects a share offer where an import result is expected, and an unknown type, as wrong_type", async () => {
    const envelope = await sealOffer();
    expect(await openerFor(world, "partner-b").open(envelope, "import-result")).toMatchObject({
      ok: false,
      reason: "wrong_type",
    });
    const unknownType = await craftEnvelope({
      claims: claimsFor("partner-a", "partner-b", { typ: "share-revocation" }),
      signWith: signingKeyOf("partner-a"),
      encryptTo: await encryptionKeyOf(world, "partner-b"),
    });
    expect(await openerFor(world, "partner-b").open(unknownType)).toMatchObject({
      ok: false,
      reason: "wrong_type",
    });
  });

  it("rejects input that is not an envelope as malformed", async () => {
    const opener = openerFor(world, "partner-b");
    const envelope = await sealOffer();
    const garbage = [
      "",
      "hello",
      "a.b.c.d.e",
      "....",
      `${envelope}.`,
      "x".repeat(70_000),
      envelope.replace(".", "=."),
    ];
    for (const input of garbage) expect(await opener.open(input)).toEqual({ ok: false, reason: "malformed" });
    expect(await opener.open(42 as unknown as string)).toEqual({ ok: false, reason: "malformed" });
  });

  it("rejects a signed payload that breaks its schema as malformed", async () => {
    const { share_token: _dropped, ...withoutToken } = shareOffer();
    const cases = [
      claimsFor("partner-a", "partner-b", { payload: withoutToken }),
      claimsFor("partner-a", "partner-b", { payload: shareOffer({ token_expires_at: "tomorrow" }) }),
      claimsFor("partner-a", "partner-b", { exp: "soon" }),
      // Outlives its token.
      claimsFor("partner-a", "partner-b", {
        payload: shareOffer({ token_expires_at: new Date(Date.now() + 60_000).toISOString() }),
      }),
    ];
    for (const claims of cases) {
      const envelope = await craftEnvelope({
        claims,
        signWith: signingKeyOf("partner-a"),
        encryptTo: await encryptionKeyOf(world, "partner-b"),
      });
      expect(await openerFor(world, "partner-b").open(envelope)).toMatchObject({
        ok: false,
        reason: "malformed",
      });
    }
  });

  it("rejects an import result without a positive integer sequence as malformed", async () => {
    const result = {
      share_id: "0b8f5a52-3d1c-4f7e-9a6b-2c4d6e8f0a1b",
      outcome: "imported",
      import_id: "imp_1",
      at: new Date().toISOString(),
    };
    const opener = openerFor(world, "partner-a");
    const sealed = async (payload: Record<string, unknown>) =>
      opener.open(
        await craftEnvelope({
          claims: claimsFor("partner-b", "partner-a", { typ: "import-result", payload }),
          signWith: signingKeyOf("partner-b"),
          encryptTo: await encryptionKeyOf(world, "partner-a"),
        }),
        "import-result",
      );
    expect(await sealed({ ...result, sequence: 1 })).toMatchObject({ ok: true });
    for (const sequence of [undefined, 0, -1, 1.5, "2", 2 ** 31]) {
      expect(await sealed({ ...result, sequence })).toMatchObject({ ok: false, reason: "malformed" });
    }
  });

  it("rejects a changed protected header: a changed address cannot decrypt, unknown keys or partners are refused", async () => {
    const envelope = await sealOffer({ jti: "share-header-1" });
    const header = headerOf(envelope);
    const opener = openerFor(world, "partner-b");
    expect((await opener.open(envelope)).ok).toBe(true);
    const cases: Array<[Record<string, unknown>, string]> = [
      // Authenticated data changed (and, for the parties, another derived key): no decryption.
      [{ ...header, aud: "partner-c" }, "undecryptable"],
      [{ ...header, iss: "partner-c", skid: ownEncryptionKey("partner-c").kid }, "undecryptable"],
      [{ ...header, zip: undefined, typ: "JOSE" }, "undecryptable"],
      // A key of ours we do not have.
      [{ ...header, kid: "partner-b-enc-20200101-00000000" }, "undecryptable"],
      // A sender key its partner never published, or a partner we do not know.
      [{ ...header, skid: "partner-a-enc-20200101-00000000" }, "unknown_sender"],
      [{ ...header, iss: "partner-c" }, "unknown_sender"],
      [{ ...header, iss: "partner-z" }, "unknown_sender"],
      // Not a header we produce.
      [{ ...header, alg: "A256GCMKW" }, "malformed"],
      [{ ...header, enc: "A128GCM" }, "malformed"],
      [{ ...header, skid: undefined }, "malformed"],
      [{ ...header, aud: ["partner-b"] }, "malformed"],
      [{ ...header, alg: "ECDH-ES+A256KW" }, "malformed"],
    ];
    for (const [changed, reason] of cases) {
      expect({ changed, result: await opener.open(withHeader(envelope, changed)) }).toEqual({
        changed,
        result: { ok: false, reason },
      });
    }
  });

  it("rejects a dir envelope carrying a wrapped key, and a key-wrapped one without, as malformed", async () => {
    const envelope = await sealOffer();
    const segments = envelope.split(".");
    segments[1] = "AAAA";
    expect(await openerFor(world, "partner-b").open(segments.join("."))).toEqual({
      ok: false,
      reason: "malformed",
    });
    const legacy = await craftEnvelope({
      claims: claimsFor("partner-a", "partner-b"),
      signWith: signingKeyOf("partner-a"),
      encryptTo: await encryptionKeyOf(world, "partner-b"),
    });
    const legacySegments = legacy.split(".");
    legacySegments[1] = "";
    expect(await openerFor(world, "partner-b").open(legacySegments.join("."))).toEqual({
      ok: false,
      reason: "malformed",
    });
  });

  it("rejects a dir envelope whose content key a partner derived but whose JWS another partner signed as sender_mismatch", async () => {
    // partner-a wraps a message signed by partner-c, in partner-c's name or in its own.
    for (const claims of [claimsFor("partner-c", "partner-b"), claimsFor("partner-a", "partner-b")]) {
      const envelope = await directEnvelope("partner-a", "partner-b", {
        claims,
        signWith: signingKeyOf("partner-c"),
      });
      expect(await openerFor(world, "partner-b").open(envelope)).toEqual({
        ok: false,
        reason: "sender_mismatch",
      });
    }
    // The same message wrapped by its signer opens.
    const genuine = await directEnvelope("partner-c", "partner-b");
    expect(await openerFor(world, "partner-b").open(genuine)).toMatchObject({
      ok: true,
      claims: { iss: "partner-c" },
    });
  });

  it("rejects a dir envelope derived for our key but for another partner's address as wrong_audience", async () => {
    // A registry that lists partner-c with partner-b's keys: partner-a seals to partner-c.
    const misaddressed = await craftDirectEnvelope({
      claims: claimsFor("partner-a", "partner-c"),
      signWith: signingKeyOf("partner-a"),
      sealer: { partnerId: "partner-a", key: ownEncryptionKey("partner-a") },
      receiver: { partnerId: "partner-c", key: await encryptionKeyOf(world, "partner-b") },
    });
    expect(await openerFor(world, "partner-b").open(misaddressed)).toMatchObject({
      ok: false,
      reason: "wrong_audience",
      sender: "partner-a",
    });
    // Derived for partner-c although the signed claims say partner-b.
    const inconsistent = await craftDirectEnvelope({
      claims: claimsFor("partner-a", "partner-b"),
      signWith: signingKeyOf("partner-a"),
      sealer: { partnerId: "partner-a", key: ownEncryptionKey("partner-a") },
      receiver: { partnerId: "partner-c", key: await encryptionKeyOf(world, "partner-b") },
    });
    expect(await openerFor(world, "partner-b").open(inconsistent)).toMatchObject({
      ok: false,
      reason: "wrong_audience",
    });
  });

  it("rejects a dir envelope from a sender whose encryption key is not registered as unknown_sender", async () => {
    const stranger = await importPartnerPrivateKeys({
      partner_id: "partner-a",
      current: await generatePartnerKeys("partner-a"),
    });
    const envelope = await craftDirectEnvelope({
      claims: claimsFor("partner-a", "partner-b"),
      signWith: signingKeyOf("partner-a"),
      sealer: { partnerId: "partner-a", key: stranger.decryption[0] as KeyHandle },
      receiver: { partnerId: "partner-b", key: await encryptionKeyOf(world, "partner-b") },
    });
    expect(await openerFor(world, "partner-b").open(envelope)).toEqual({
      ok: false,
      reason: "unknown_sender",
    });
  });

  it("rejects an expired dir envelope and an expired first-format one alike, naming the sender", async () => {
    const past = Math.floor(Date.now() / 1000) - 600;
    const claims = claimsFor("partner-a", "partner-b", { jti: "share-old", iat: past - 300, exp: past });
    const direct = await directEnvelope("partner-a", "partner-b", { claims });
    const legacy = await craftEnvelope({
      claims,
      signWith: signingKeyOf("partner-a"),
      encryptTo: await encryptionKeyOf(world, "partner-b"),
    });
    for (const envelope of [direct, legacy]) {
      expect(await openerFor(world, "partner-b").open(envelope)).toEqual({
        ok: false,
        reason: "expired",
        sender: "partner-a",
        jti: "share-old",
      });
    }
  });

  it("rejects a signed JWS that is not EdDSA as malformed", async () => {
    const envelope = await craftEnvelope({
      claims: claimsFor("partner-a", "partner-b"),
      signWith: signingKeyOf("partner-a"),
      encryptTo: await encryptionKeyOf(world, "partner-b"),
      jwsHeader: { alg: "Ed25519" },
    });
    expect(await openerFor(world, "partner-b").open(envelope)).toEqual({ ok: false, reason: "malformed" });
  });
});
