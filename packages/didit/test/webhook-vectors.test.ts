import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { canonicalJson, signWebhook, verifyWebhook } from "../src/index.js";

interface VectorCase {
  body: string;
  signatures: { raw: string; v2: string; simple: string };
}
interface VectorFile {
  secret: string;
  timestamp: number;
  cases: Record<string, VectorCase>;
}

// Recorded vectors: four deliveries with their three signatures as Didit computes them, kept in the
// repository so the test reads nothing outside it.
const recorded = readVectors(new URL("./fixtures/webhook-signature-vectors.json", import.meta.url));
const extra = readVectors(new URL("./fixtures/webhook-extra-vectors.json", import.meta.url));

function readVectors(url: URL): VectorFile {
  return JSON.parse(readFileSync(url, "utf8")) as VectorFile;
}

const allCases = [
  ...Object.entries(recorded.cases).map(([name, vector]) => ({ name, vector, file: recorded })),
  ...Object.entries(extra.cases).map(([name, vector]) => ({ name, vector, file: extra })),
];

describe("webhook signature vectors", () => {
  it("covers the four recorded cases and three more (unicode names, numeric-like keys, float scores)", () => {
    expect(Object.keys(recorded.cases).sort()).toEqual([
      "basic_approved",
      "declined",
      "empty_objects",
      "slashes_in_urls",
    ]);
    expect(Object.keys(extra.cases).sort()).toEqual(["float_scores", "numeric_like_keys", "unicode_names"]);
    expect(extra.secret).toBe(recorded.secret);
  });

  describe.each(allCases)("$name", ({ vector, file }) => {
    it("is reproduced byte for byte by the signer, with all three digests", () => {
      const signed = signWebhook(JSON.parse(vector.body) as object, file.secret);
      expect(signed.rawBody).toBe(vector.body);
      expect(signed.headers).toEqual({
        "x-signature": vector.signatures.raw,
        "x-signature-v2": vector.signatures.v2,
        "x-signature-simple": vector.signatures.simple,
        "x-timestamp": String(file.timestamp),
      });
    });

    it("is accepted on X-Signature-V2 alone", () => {
      const result = verifyWebhook(
        Buffer.from(vector.body, "utf8"),
        { "x-signature-v2": vector.signatures.v2 },
        file.secret,
        file.timestamp,
      );
      expect(result).toMatchObject({ ok: true, verifiedBy: "x-signature-v2" });
      if (result.ok) expect(result.event).toEqual(JSON.parse(vector.body));
    });

    it("is accepted on X-Signature over the raw bytes when V2 is absent", () => {
      const result = verifyWebhook(
        vector.body,
        { "x-signature": vector.signatures.raw },
        file.secret,
        file.timestamp,
      );
      expect(result).toMatchObject({ ok: true, verifiedBy: "x-signature" });
    });

    it("is rejected when only X-Signature-Simple is sent, since it leaves metadata and decision unsigned", () => {
      const result = verifyWebhook(
        vector.body,
        { "x-signature-simple": vector.signatures.simple, "x-timestamp": String(file.timestamp) },
        file.secret,
        file.timestamp,
      );
      expect(result).toEqual({ ok: false, reason: "missing_signature" });
    });
  });

  it("keeps non-ASCII literal in V2 but escaped (lowercase hex) in the raw body", () => {
    const body = JSON.parse((extra.cases.unicode_names as VectorCase).body) as object;
    expect(canonicalJson(body, { ascii: true })).toContain('"first_name":"Jos\\u00e9"');
    expect(canonicalJson(body, { ascii: false })).toContain('"first_name":"José"');
    expect(canonicalJson(body, { ascii: false })).toContain('"place_of_birth":"北京"');
  });

  it("sorts integer-like keys as strings, which JSON.stringify of a sorted object does not", () => {
    const vector = extra.cases.numeric_like_keys as VectorCase;
    const body = JSON.parse(vector.body) as { metadata: Record<string, unknown> };
    expect(canonicalJson(body.metadata, { ascii: true })).toBe(
      '{"10":"ten","2":"two","9":"nine","wp_user_id":42}',
    );
    // A trap of Didit's canonical form: JS enumerates integer-like keys first, in numeric order.
    expect(JSON.stringify(body.metadata)).toBe('{"2":"two","9":"nine","10":"ten","wp_user_id":42}');
  });

  it("accepts V2 for a body that spells whole scores as 100.0 and 0.0, as Didit's Python source values do", () => {
    const vector = extra.cases.float_scores as VectorCase;
    const pythonSpelling = vector.body
      .replace('"threshold":100}', '"threshold":100.0}')
      .replace('"threshold":0}', '"threshold":0.0}');
    expect(pythonSpelling).not.toBe(vector.body);
    const headers = { "x-signature-v2": vector.signatures.v2 };
    expect(verifyWebhook(pythonSpelling, headers, extra.secret, extra.timestamp)).toMatchObject({ ok: true });
    // X-Signature covers the exact bytes, so the respelled body no longer matches it.
    expect(
      verifyWebhook(pythonSpelling, { "x-signature": vector.signatures.raw }, extra.secret, extra.timestamp),
    ).toEqual({ ok: false, reason: "invalid_signature" });
  });

  it("rejects a replay whose X-Timestamp header was refreshed, because freshness comes from the signed body", () => {
    const vector = recorded.cases.basic_approved as VectorCase;
    const now = recorded.timestamp + 301;
    const headers = { "x-signature-v2": vector.signatures.v2, "x-timestamp": String(now) };
    expect(verifyWebhook(vector.body, headers, recorded.secret, now)).toEqual({
      ok: false,
      reason: "stale_timestamp",
    });
  });

  it("accepts a delivery exactly 300 s old or 300 s early and rejects one 301 s away", () => {
    const vector = recorded.cases.declined as VectorCase;
    const headers = { "x-signature-v2": vector.signatures.v2 };
    const at = (now: number) => verifyWebhook(vector.body, headers, recorded.secret, now).ok;
    expect([at(recorded.timestamp + 300), at(recorded.timestamp - 300)]).toEqual([true, true]);
    expect([at(recorded.timestamp + 301), at(recorded.timestamp - 301)]).toEqual([false, false]);
  });
});
