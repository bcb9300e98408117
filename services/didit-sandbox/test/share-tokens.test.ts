import { decodeShareTokenClaims } from "@share-broker/didit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FaultRegistry } from "../src/faults.js";
import { RateLimiter } from "../src/rate-limits.js";
import { ShareTokenIssuer } from "../src/share-tokens.js";

const claims = {
  session_id: "11111111-1111-4111-8111-111111111111",
  session_kind: "user" as const,
  from_application_id: "0a000000-0000-4000-8000-00000000000a",
  for_application_id: "0b000000-0000-4000-8000-00000000000b",
};

describe("share tokens", () => {
  it("are valid until the second before exp and expired from exp on (now >= exp)", async () => {
    const issuer = new ShareTokenIssuer();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 60, max: 86_400 }),
        fc.integer({ min: 1_700_000_000, max: 2_000_000_000 }),
        async (ttl, iat) => {
          const token = await issuer.mint(claims, ttl, iat);
          expect(await issuer.verify(token, iat + ttl - 1)).toEqual({ ...claims, iat, exp: iat + ttl });
          expect(await issuer.verify(token, iat + ttl)).toBeUndefined();
        },
      ),
      { numRuns: 50 },
    );
  });

  it("carry claims the client's decoder reads", async () => {
    const token = await new ShareTokenIssuer().mint(claims, 900, 1_800_000_000);
    expect(decodeShareTokenClaims(token)).toEqual({
      ok: true,
      claims: { ...claims, iat: 1_800_000_000, exp: 1_800_000_900 },
    });
  });

  it("are rejected after any change to a character inside a segment, and under another sandbox's key", async () => {
    const issuer = new ShareTokenIssuer();
    const token = await issuer.mint(claims, 3600, 1_800_000_000);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // The last character of a segment may carry unused bits, so only inner characters are changed.
    const inner = [...token].flatMap((char, index) =>
      char !== "." && token[index + 1] !== "." && index !== token.length - 1 ? [index] : [],
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...inner),
        fc.constantFrom(...alphabet),
        async (index, replacement) => {
          fc.pre(token[index] !== replacement);
          const tampered = `${token.slice(0, index)}${replacement}${token.slice(index + 1)}`;
          expect(await issuer.verify(tampered, 1_800_000_001)).toBeUndefined();
        },
      ),
      { numRuns: 100 },
    );
    expect(await new ShareTokenIssuer().verify(token, 1_800_000_001)).toBeUndefined();
  });

  it("are rejected with another header, a truncated signature or no signature, whatever the claims", () => {
    const issuer = new ShareTokenIssuer();
    const token = issuer.mint(claims, 3600, 1_800_000_000);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const forged = [
      `${segment({ alg: "none", typ: "JWT" })}.${payload}.`,
      `${segment({ alg: "none" })}.${payload}.${signature}`,
      `${segment({ typ: "JWT", alg: "HS256" })}.${payload}.${signature}`,
      `${header}.${payload}.${Buffer.from(signature, "base64url").subarray(0, 16).toString("base64url")}`,
      `${header}.${payload}`,
      `${header}.${payload}.${signature}.${signature}`,
      `${header}.${payload}=.${signature}`,
    ];
    for (const candidate of forged) expect(issuer.verify(candidate, 1_800_000_001)).toBeUndefined();
    expect(issuer.verify(token, 1_800_000_001)).toEqual({
      ...claims,
      iat: 1_800_000_000,
      exp: 1_800_003_600,
    });
  });
});

describe("rate limiter", () => {
  it("allows the limit per sliding minute and says when a slot frees", () => {
    const limiter = new RateLimiter({ write: 2 });
    expect(limiter.take("app", "write", 1_000).allowed).toBe(true);
    expect(limiter.take("app", "write", 30_000).allowed).toBe(true);
    expect(limiter.take("app", "write", 40_000)).toEqual({
      allowed: false,
      limit: 2,
      retryAfterSeconds: 21,
      resetEpochSeconds: 61,
    });
    expect(limiter.take("other", "write", 40_000).allowed).toBe(true);
    expect(limiter.take("app", "write", 61_001).allowed).toBe(true);
  });

  it("decides as a plain 60 s window filter would, also when the sandbox clock moves back", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -30_000, max: 40_000 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        (steps, limit) => {
          const limiter = new RateLimiter({ write: limit });
          let admitted: number[] = [];
          let now = 100_000;
          for (const step of steps) {
            now += step;
            const window = admitted.filter((at) => at > now - 60_000);
            const expected = window.length < limit;
            expect(limiter.take("app", "write", now).allowed).toBe(expected);
            admitted = expected ? [...window, now] : window;
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("fault patterns", () => {
  it("match * within one segment and ** across segments", () => {
    const faults = new FaultRegistry(() => 0);
    faults.add({
      method: "GET",
      path: "/v3/session/*/decision/",
      latency_ms: 0,
      status: 500,
      failure_rate: 1,
      times: null,
    });
    faults.add({ method: "*", path: "/v3/**", latency_ms: 0, status: 503, failure_rate: 1, times: 1 });
    expect(faults.take("GET", "/v3/session/abc/decision/")?.status).toBe(500);
    expect(faults.take("GET", "/v3/session/a/b/decision/")?.status).toBe(503);
    expect(faults.take("GET", "/v3/session/a/b/decision/")).toBeUndefined();
  });
});
