import { describe, expect, it } from "vitest";
import { decodeShareTokenClaims, isShareTokenExpired, shareTokenId } from "../src/index.js";

const claims = {
  session_id: "11111111-aaaa-4bbb-8ccc-000000000001",
  session_kind: "user",
  from_application_id: "22222222-aaaa-4bbb-8ccc-000000000002",
  for_application_id: "33333333-aaaa-4bbb-8ccc-000000000003",
  iat: 1_774_970_000,
  exp: 1_774_970_900,
};

function segment(value: unknown): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value), "utf8").toString("base64url");
}

/** An unsigned stand-in: the decoder must not care, since only Didit can check the HS256 signature. */
function token(payload: unknown): string {
  return `${segment({ alg: "HS256", typ: "JWT" })}.${segment(payload)}.${segment("not-a-real-signature")}`;
}

describe("decodeShareTokenClaims", () => {
  it("reads Didit's share-token claims from the payload without checking the signature", () => {
    expect(decodeShareTokenClaims(token(claims))).toEqual({ ok: true, claims });
  });

  it('reads a token without session_kind (minted before KYB sharing) as "user"', () => {
    const { session_kind: _omitted, ...legacy } = claims;
    const decoded = decodeShareTokenClaims(token(legacy));
    expect(decoded).toEqual({ ok: true, claims: { ...legacy, session_kind: "user" } });
  });

  it('keeps session_kind "business"', () => {
    const decoded = decodeShareTokenClaims(token({ ...claims, session_kind: "business" }));
    expect(decoded.ok && decoded.claims.session_kind).toBe("business");
  });

  it("ignores claims it does not know", () => {
    expect(decodeShareTokenClaims(token({ ...claims, jti: "x" }))).toEqual({ ok: true, claims });
  });

  it.each([
    ["two segments", `${segment({})}.${segment(claims)}`],
    ["four segments", `${token(claims)}.extra`],
    ["an empty signature segment", `${segment({})}.${segment(claims)}.`],
    ["characters outside base64url", `${segment({})}.${segment(claims)}+/=.${segment("s")}`],
    ["a payload that is not JSON", `${segment({})}.${segment("{not json")}.${segment("s")}`],
    ["a payload that is an array", token([claims])],
    ["an unknown session_kind", token({ ...claims, session_kind: "KYB" })],
    ["a non-integer exp", token({ ...claims, exp: 1_774_970_900.5 })],
    ["a string iat", token({ ...claims, iat: "1774970000" })],
    ["a missing for_application_id", token({ ...claims, for_application_id: undefined })],
    ["an empty string", ""],
  ])("reports %s as malformed", (_label, value) => {
    expect(decodeShareTokenClaims(value)).toEqual({ ok: false, reason: "malformed" });
  });

  it("reports a non-string as malformed instead of throwing", () => {
    expect(decodeShareTokenClaims(42 as unknown as string)).toEqual({ ok: false, reason: "malformed" });
  });
});

describe("isShareTokenExpired", () => {
  it("treats the token as valid up to the second before exp and expired from exp on (now >= exp)", () => {
    expect(isShareTokenExpired(claims, claims.exp - 1)).toBe(false);
    expect(isShareTokenExpired(claims, claims.exp)).toBe(true);
    expect(isShareTokenExpired(claims, claims.exp + 1)).toBe(true);
  });
});

describe("shareTokenId", () => {
  const tokenValue = token(claims);

  it("is a 16-character lowercase hex prefix of the token's SHA-256", () => {
    expect(shareTokenId(tokenValue)).toMatch(/^[0-9a-f]{16}$/);
    expect(shareTokenId(tokenValue)).toBe(shareTokenId(tokenValue));
  });

  it("differs between tokens and reveals no part of the token", () => {
    const other = token({ ...claims, exp: claims.exp + 1 });
    expect(shareTokenId(other)).not.toBe(shareTokenId(tokenValue));
    for (const part of tokenValue.split(".")) expect(part).not.toContain(shareTokenId(tokenValue));
  });
});
