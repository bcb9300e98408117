import { describe, expect, it } from "vitest";
import {
  DiditNotFoundError,
  DiditRateLimitError,
  DiditUnavailableError,
  DiditValidationError,
} from "../src/index.js";
import { parseRetryAfterSeconds, retryDelayMs } from "../src/retry-policy.js";

const details = { status: 503, operation: "getDecision", detail: "x" };
const MAX = 60_000;

describe("retryDelayMs", () => {
  it("backs off 5, 10, 20, 40 s without Retry-After and caps the wait", () => {
    const outage = new DiditUnavailableError(details);
    expect([0, 1, 2, 3, 4].map((retry) => retryDelayMs(outage, retry, MAX))).toEqual([
      5_000, 10_000, 20_000, 40_000, 60_000,
    ]);
  });

  it("waits exactly the Retry-After of a 429", () => {
    const limited = new DiditRateLimitError({ ...details, status: 429, retryAfterSeconds: 7 });
    expect(retryDelayMs(limited, 0, MAX)).toBe(7_000);
    expect(retryDelayMs(limited, 3, MAX)).toBe(7_000);
  });

  it("gives up when Retry-After asks for more than the cap, leaving the wait to the caller", () => {
    const limited = new DiditRateLimitError({ ...details, status: 429, retryAfterSeconds: 61 });
    expect(retryDelayMs(limited, 0, MAX)).toBeNull();
  });

  it("never retries a permanent error", () => {
    expect(retryDelayMs(new DiditValidationError({ ...details, status: 400 }), 0, MAX)).toBeNull();
    expect(retryDelayMs(new DiditNotFoundError({ ...details, status: 404 }), 0, MAX)).toBeNull();
  });
});

describe("parseRetryAfterSeconds", () => {
  const now = Date.parse("2026-05-17T08:42:11Z");

  it("reads delta-seconds", () => {
    expect(parseRetryAfterSeconds("7", now)).toBe(7);
    expect(parseRetryAfterSeconds(" 0 ", now)).toBe(0);
  });

  it("reads an HTTP-date as seconds from now, never negative", () => {
    expect(parseRetryAfterSeconds("Sun, 17 May 2026 08:42:41 GMT", now)).toBe(30);
    expect(parseRetryAfterSeconds("Sun, 17 May 2026 08:00:00 GMT", now)).toBe(0);
  });

  it("returns null when absent or unreadable", () => {
    expect(parseRetryAfterSeconds(undefined, now)).toBeNull();
    expect(parseRetryAfterSeconds("soon", now)).toBeNull();
    expect(parseRetryAfterSeconds("-5", now)).toBeNull();
  });
});
