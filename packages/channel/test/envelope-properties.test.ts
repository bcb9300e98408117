import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEnvelopeSealer, type PartnerPrivateKeys } from "../src/index.js";
import {
  createPartnerWorld,
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
  world = await createPartnerWorld(["partner-a", "partner-b"]);
});
afterAll(async () => {
  await world.cleanup();
});

// Any code point, surrogate pairs and escapes included; lengths within the payload schema.
const text = (maxLength: number) => fc.string({ unit: "binary", minLength: 1, maxLength });
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

describe("envelope properties", () => {
  it("round-trips arbitrary payload strings", async () => {
    const sealer = sealerFor(world, "partner-a");
    const opener = openerFor(world, "partner-b");
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          share_token: text(500),
          purpose: text(100),
          scope: text(100),
          user_pseudonym: text(100),
        }),
        text(100),
        async (strings, linkCode) => {
          const payload = shareOffer({ ...strings, link_code: linkCode });
          const envelope = await sealer.seal({
            to: "partner-b",
            typ: "share-offer",
            jti: "share-1",
            expiresAt: new Date(Date.now() + 60_000),
            payload,
          });
          const opened = await opener.open(envelope, "share-offer");
          expect(opened.ok && opened.claims.payload).toEqual(payload);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("round-trips arbitrary payload strings in the first format (ECDH-ES+A256KW) too", async () => {
    const sealer = createEnvelopeSealer({
      self: "partner-a",
      keys: world.keys["partner-a"] as PartnerPrivateKeys,
      registry: world.registry,
      keyManagement: "ECDH-ES+A256KW",
    });
    const opener = openerFor(world, "partner-b");
    await fc.assert(
      fc.asyncProperty(fc.record({ share_token: text(500), purpose: text(100) }), async (strings) => {
        const payload = shareOffer(strings);
        const envelope = await sealer.seal({
          to: "partner-b",
          typ: "share-offer",
          jti: "share-legacy",
          expiresAt: new Date(Date.now() + 60_000),
          payload,
        });
        expect(headerOf(envelope).alg).toBe("ECDH-ES+A256KW");
        const opened = await opener.open(envelope, "share-offer");
        expect(opened.ok && opened.claims.payload).toEqual(payload);
      }),
      { numRuns: 30 },
    );
  });

  it("rejects, without throwing, any change to the protected header's members", async () => {
    const envelope = await sealerFor(world, "partner-a").seal({
      to: "partner-b",
      typ: "share-offer",
      jti: "share-4",
      expiresAt: new Date(Date.now() + 60_000),
      payload: shareOffer(),
    });
    const opener = openerFor(world, "partner-b");
    const header = headerOf(envelope);
    const member = fc.constantFrom("alg", "enc", "cty", "kid", "skid", "iss", "aud", "zip", "crit", "x");
    const value = fc.oneof(
      fc.constant(undefined),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.constantFrom(...Object.values(header)),
      fc.jsonValue({ maxDepth: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(member, value), { minLength: 1, maxLength: 3 }), async (changes) => {
        const changed: Record<string, unknown> = { ...header };
        for (const [name, newValue] of changes) changed[name] = newValue;
        fc.pre(JSON.stringify(changed) !== JSON.stringify(header));
        const opened = await opener.open(withHeader(envelope, changed));
        expect(opened.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("rejects, without throwing, any envelope with one character changed", async () => {
    const sealer = sealerFor(world, "partner-a");
    const opener = openerFor(world, "partner-b");
    const envelope = await sealer.seal({
      to: "partner-b",
      typ: "share-offer",
      jti: "share-2",
      expiresAt: new Date(Date.now() + 60_000),
      payload: shareOffer(),
    });
    expect((await opener.open(envelope)).ok).toBe(true);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: envelope.length - 1 }),
        fc.oneof(
          fc.constantFrom(...BASE64URL, ".", "=", "+", "/", " "),
          fc.string({ unit: "binary", maxLength: 1 }),
        ),
        async (index, replacement) => {
          fc.pre(replacement !== envelope[index]);
          const changed = replaceCharAt(envelope, index, replacement);
          const opened = await opener.open(changed);
          expect(opened.ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("rejects every last-character change of every segment, where base64url decoders are lenient", async () => {
    const envelope = await sealerFor(world, "partner-a").seal({
      to: "partner-b",
      typ: "share-offer",
      jti: "share-3",
      expiresAt: new Date(Date.now() + 60_000),
      payload: shareOffer(),
    });
    const opener = openerFor(world, "partner-b");
    const ends = [...envelope].flatMap((_char, index) =>
      envelope[index + 1] === "." || index === envelope.length - 1 ? [index] : [],
    );
    for (const index of ends) {
      for (const replacement of BASE64URL) {
        if (replacement === envelope[index]) continue;
        expect((await opener.open(replaceCharAt(envelope, index, replacement))).ok).toBe(false);
      }
    }
  });
});
