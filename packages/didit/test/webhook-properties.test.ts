import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, signWebhook, verifyWebhook, WEBHOOK_TOLERANCE_SECONDS } from "../src/index.js";

const SECRET = "wh_property_secret_3b9d";

// Keys that trip naive serializers: integer-like (JS orders them first), astral, prototype names.
const key = fc.oneof(
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.nat({ max: 1000 }).map(String),
  fc.constantFrom("__proto__", "constructor", "10", "2", "9", "a/b", "\u007f", "😀", "\ue000"),
);

const leaf = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(100, 0, 96.15, -0, 1e-7, 1e21),
  fc.boolean(),
  fc.constant(null),
);

const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: "small", maxDepth: 4 },
    leaf,
    fc.array(tie("json"), { maxLength: 4 }),
    fc.dictionary(key, tie("json"), { maxKeys: 4 }),
  ),
}));

const timestamp = fc.integer({ min: 1_000_000_000, max: 4_000_000_000 });

const webhookBody = fc
  .record({
    event_id: fc.uuid(),
    webhook_type: fc.constantFrom("status.updated", "data.updated", "business.status.updated"),
    timestamp,
    session_id: fc.uuid(),
    status: fc.constantFrom("Approved", "Declined", "In Review", "Kyc Expired"),
    vendor_data: fc.string({ unit: "binary", maxLength: 20 }),
    metadata: fc.dictionary(key, json, { maxKeys: 5 }),
    decision: json,
  })
  .chain((base) => fc.dictionary(key, json, { maxKeys: 3 }).map((extra) => ({ ...extra, ...base })));

const withinTolerance = fc.integer({ min: -WEBHOOK_TOLERANCE_SECONDS, max: WEBHOOK_TOLERANCE_SECONDS });

/** Both canonical forms of whatever the bytes parse to, or undefined when they do not parse. */
function canonicalForms(bytes: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return `${canonicalJson(parsed, { ascii: false })}\n${canonicalJson(parsed, { ascii: true })}`;
  } catch {
    return undefined;
  }
}

describe("webhook sign → verify properties", () => {
  it("round-trips any JSON body (unicode, astral, integer-like keys, nested arrays, floats) within 300 s", () => {
    fc.assert(
      fc.property(webhookBody, withinTolerance, (body, skew) => {
        const { rawBody, headers } = signWebhook(body, SECRET);
        expect(rawBody).toMatch(/^[\x20-\x7e]*$/);
        const result = verifyWebhook(Buffer.from(rawBody, "utf8"), headers, SECRET, body.timestamp + skew);
        expect(result).toMatchObject({ ok: true, verifiedBy: "x-signature-v2" });
        if (result.ok)
          expect(canonicalJson(result.event, { ascii: false })).toBe(canonicalJson(body, { ascii: false }));
      }),
    );
  });

  it("round-trips through the X-Signature fallback when V2 is absent", () => {
    fc.assert(
      fc.property(webhookBody, (body) => {
        const { rawBody, headers } = signWebhook(body, SECRET);
        const result = verifyWebhook(
          rawBody,
          { "x-signature": headers["x-signature"] },
          SECRET,
          body.timestamp,
        );
        expect(result).toMatchObject({ ok: true, verifiedBy: "x-signature" });
      }),
    );
  });

  it("rejects any changed byte, unless the change leaves the parsed body's canonical form identical (V2 signs content)", () => {
    fc.assert(
      fc.property(webhookBody, fc.nat(), fc.integer({ min: 1, max: 255 }), (body, at, flip) => {
        const { rawBody, headers } = signWebhook(body, SECRET);
        const original = Buffer.from(rawBody, "utf8");
        const tampered = Buffer.from(original);
        const index = at % tampered.length;
        tampered[index] = (tampered[index] as number) ^ flip;

        const result = verifyWebhook(tampered, headers, SECRET, body.timestamp);
        // E.g. "\u00e9" → "\u00E9" parses to the same text; V2 rightly accepts it, the raw-byte check would not.
        const sameContent = canonicalForms(tampered) === canonicalForms(original);
        expect(result.ok).toBe(sameContent);

        const rawOnly = verifyWebhook(
          tampered,
          { "x-signature": headers["x-signature"] },
          SECRET,
          body.timestamp,
        );
        expect(rawOnly).toEqual({
          ok: false,
          reason: expect.stringMatching(/^(invalid_signature|malformed_body)$/),
        });
      }),
      { numRuns: 300 },
    );
  });

  it("rejects a timestamp more than 300 s away from now as stale, even with valid signatures", () => {
    const beyond = fc.integer({ min: WEBHOOK_TOLERANCE_SECONDS + 1, max: 10 ** 8 });
    fc.assert(
      fc.property(webhookBody, beyond, fc.boolean(), (body, distance, late) => {
        const { rawBody, headers } = signWebhook(body, SECRET);
        const now = body.timestamp + (late ? distance : -distance);
        expect(verifyWebhook(rawBody, headers, SECRET, now)).toEqual({
          ok: false,
          reason: "stale_timestamp",
        });
      }),
    );
  });

  it("rejects a body signed with a different secret", () => {
    fc.assert(
      fc.property(
        webhookBody,
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        (body, signer, verifier) => {
          fc.pre(signer !== verifier);
          const { rawBody, headers } = signWebhook(body, signer);
          expect(verifyWebhook(rawBody, headers, verifier, body.timestamp)).toEqual({
            ok: false,
            reason: "invalid_signature",
          });
        },
      ),
    );
  });

  it("rejects a malformed X-Signature-V2 when no valid X-Signature backs it", () => {
    const malformed = fc.oneof(
      fc.string(),
      fc.stringMatching(/^[0-9A-F]{64}$/).filter((s) => /[A-F]/.test(s)),
      fc.stringMatching(/^[0-9a-f]{63}$/),
      fc.stringMatching(/^[0-9a-f]{65}$/),
    );
    fc.assert(
      fc.property(webhookBody, malformed, (body, header) => {
        const { rawBody } = signWebhook(body, SECRET);
        expect(verifyWebhook(rawBody, { "x-signature-v2": header }, SECRET, body.timestamp)).toEqual({
          ok: false,
          reason: "invalid_signature",
        });
      }),
    );
  });

  it("falls back to a valid X-Signature when X-Signature-V2 is malformed or wrong", () => {
    fc.assert(
      fc.property(webhookBody, fc.string(), (body, badV2) => {
        const { rawBody, headers } = signWebhook(body, SECRET);
        const result = verifyWebhook(
          rawBody,
          { "x-signature-v2": badV2, "x-signature": headers["x-signature"] },
          SECRET,
          body.timestamp,
        );
        expect(result).toMatchObject({ ok: true, verifiedBy: "x-signature" });
      }),
    );
  });

  it("rejects a duplicated signature header (array, or two spellings) even when each copy is valid", () => {
    fc.assert(
      fc.property(webhookBody, fc.constantFrom("x-signature-v2", "x-signature"), (body, name) => {
        const { rawBody, headers } = signWebhook(body, SECRET);
        const value = headers[name as "x-signature"];
        const asArray = verifyWebhook(
          rawBody,
          { ...headers, [name]: [value, value] },
          SECRET,
          body.timestamp,
        );
        const twoSpellings = verifyWebhook(
          rawBody,
          { ...headers, [name.toUpperCase()]: value },
          SECRET,
          body.timestamp,
        );
        expect(asArray).toEqual({ ok: false, reason: "invalid_signature" });
        expect(twoSpellings).toEqual({ ok: false, reason: "invalid_signature" });
      }),
    );
  });

  it("never throws and never accepts arbitrary bytes with arbitrary headers", () => {
    const headerValue = fc.oneof(
      fc.constant(undefined),
      fc.string(),
      fc.stringMatching(/^[0-9a-f]{64}$/),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), headerValue, headerValue, (bytes, v2, v1) => {
        const result = verifyWebhook(
          Buffer.from(bytes),
          { "x-signature-v2": v2, "x-signature": v1 },
          SECRET,
          1_774_970_000,
        );
        expect(result.ok).toBe(false);
      }),
    );
  });
});

describe("webhook verification edge cases", () => {
  const body = {
    event_id: "9c0c8b8a-1111-4222-9333-444444444444",
    webhook_type: "status.updated",
    timestamp: 1_774_970_000,
    session_id: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    status: "Approved",
  };

  it("reports missing_signature when neither X-Signature-V2 nor X-Signature is present", () => {
    const { rawBody, headers } = signWebhook(body, SECRET);
    const onlySimple = {
      "x-signature-simple": headers["x-signature-simple"],
      "x-timestamp": headers["x-timestamp"],
    };
    expect(verifyWebhook(rawBody, onlySimple, SECRET, body.timestamp)).toEqual({
      ok: false,
      reason: "missing_signature",
    });
  });

  it("reads header names case-insensitively", () => {
    const { rawBody, headers } = signWebhook(body, SECRET);
    expect(
      verifyWebhook(rawBody, { "X-Signature-V2": headers["x-signature-v2"] }, SECRET, body.timestamp),
    ).toMatchObject({
      ok: true,
    });
  });

  it.each([
    ["a non-integer timestamp", { ...body, timestamp: 1_774_970_000.5 }],
    ["a string timestamp", { ...body, timestamp: "1774970000" }],
    ["no timestamp", { ...body, timestamp: undefined }],
    ["no webhook_type", { ...body, webhook_type: undefined }],
    ["a numeric event_id", { ...body, event_id: 42 }],
  ])("rejects a correctly signed body with %s as malformed", (_label, malformed) => {
    const { rawBody, headers } = signWebhook(malformed, SECRET);
    expect(verifyWebhook(rawBody, headers, SECRET, body.timestamp)).toEqual({
      ok: false,
      reason: "malformed_body",
    });
  });

  it("accepts a body without event_id, as Didit's session-webhook documentation shows it", () => {
    const { event_id: _omitted, ...documented } = body;
    const { rawBody, headers } = signWebhook(documented, SECRET);
    const verified = verifyWebhook(rawBody, headers, SECRET, body.timestamp);
    expect(verified).toMatchObject({ ok: true, verifiedBy: "x-signature-v2" });
    expect(verified.ok && verified.event.event_id).toBeUndefined();
  });

  it.each([
    ["a JSON array", "[1,2,3]"],
    ["a JSON string", '"hello"'],
    ["truncated JSON", '{"event_id":'],
    ["invalid UTF-8", Buffer.from([0x7b, 0xff, 0x7d])],
  ])("rejects %s as malformed", (_label, raw) => {
    const digest = "0".repeat(64);
    expect(verifyWebhook(raw, { "x-signature-v2": digest }, SECRET, body.timestamp)).toEqual({
      ok: false,
      reason: "malformed_body",
    });
  });

  it("rejects a hostile nesting depth without throwing", () => {
    const deep = `{"timestamp":1774970000,"event_id":"e","webhook_type":"t","x":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    const result = verifyWebhook(deep, { "x-signature-v2": "a".repeat(64) }, SECRET, body.timestamp);
    expect(result.ok).toBe(false);
  });
});
