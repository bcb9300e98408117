import { generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compactSegments } from "../src/compact.js";
import {
  EnvelopeSealError,
  generatePartnerKeys,
  importPartnerPrivateKeys,
  UnknownPartnerError,
} from "../src/index.js";
import {
  claimsFor,
  craftEnvelope,
  createPartnerWorld,
  encryptionKeyOf,
  openerFor,
  type PartnerWorld,
  replaceCharAt,
  sealerFor,
  shareOffer,
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

  it("is a compact JWE whose header names the receiver's key, wrapping a JWS naming the sender's key", async () => {
    const envelope = await sealOffer();
    const [header] = compactSegments(envelope, 5) ?? [];
    const decoded = JSON.parse(Buffer.from(header as string, "base64url").toString());
    const receiverKey = await encryptionKeyOf(world, "partner-b");
    expect(decoded).toMatchObject({
      alg: "ECDH-ES+A256KW",
      enc: "A256GCM",
      cty: "JWT",
      kid: receiverKey.kid,
    });
    expect(decoded.epk).toMatchObject({ kty: "OKP", crv: "X25519" });
    // Nothing readable leaks outside the encryption.
    expect(envelope).not.toContain("share");
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
