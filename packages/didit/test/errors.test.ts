import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { errorFromResponse, errorFromTransport } from "../src/error-mapping.js";
import {
  DiditAuthError,
  DiditError,
  DiditForbiddenError,
  DiditNotFoundError,
  DiditRateLimitError,
  DiditUnavailableError,
  DiditValidationError,
} from "../src/index.js";

const API_KEY = "sk_test_errors_7f3a9c";

function fail(status: number, body: unknown, retryAfterSeconds: number | null = null): DiditError {
  return errorFromResponse({ operation: "getDecision", status, body, retryAfterSeconds, secrets: [API_KEY] });
}

describe("mapping a response to an error class", () => {
  it.each([
    [400, DiditValidationError, false],
    [401, DiditAuthError, false],
    [403, DiditForbiddenError, false],
    [404, DiditNotFoundError, false],
    [429, DiditRateLimitError, true],
    [408, DiditUnavailableError, true],
    [500, DiditUnavailableError, true],
    [502, DiditUnavailableError, true],
    [503, DiditUnavailableError, true],
    [504, DiditUnavailableError, true],
  ])("HTTP %i → %o, retryable %s", (status, errorClass, retryable) => {
    const error = fail(status, { detail: "x" });
    expect(error).toBeInstanceOf(errorClass);
    expect(error).toBeInstanceOf(DiditError);
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(retryable);
    expect(error.name).toBe(errorClass.name);
  });

  it.each([301, 405, 409, 410, 422])("HTTP %i → the base DiditError, not retryable", (status) => {
    const error = fail(status, undefined);
    expect(error.constructor).toBe(DiditError);
    expect(error.retryable).toBe(false);
    expect(error.detail).toBe(`HTTP ${status}`);
  });

  it("branches on the status only, never on the message", () => {
    expect(fail(400, { detail: "Request was throttled. Expected available in 5 seconds." })).toBeInstanceOf(
      DiditValidationError,
    );
    expect(fail(404, { detail: "Invalid API key" })).toBeInstanceOf(DiditNotFoundError);
  });
});

describe("building the message from a DRF-style body", () => {
  it("prefers detail, then message", () => {
    expect(fail(403, { detail: "Session has already been imported.", message: "other" }).detail).toBe(
      "Session has already been imported.",
    );
    expect(fail(403, { message: "Forbidden by policy" }).detail).toBe("Forbidden by policy");
  });

  it("flattens field errors, nested serializers included, into fields and message", () => {
    const error = fail(400, {
      for_application_id: ["This field is required."],
      ttl_in_seconds: ["Ensure this value is greater than or equal to 60.", "A valid integer is required."],
      contact_details: { email: ["Enter a valid email address."] },
      nodes_to_resubmit: [{ node_id: ["This field is required."] }],
    });
    expect(error).toBeInstanceOf(DiditValidationError);
    expect((error as DiditValidationError).fields).toEqual({
      for_application_id: ["This field is required."],
      ttl_in_seconds: ["Ensure this value is greater than or equal to 60.", "A valid integer is required."],
      "contact_details.email": ["Enter a valid email address."],
      "nodes_to_resubmit.0.node_id": ["This field is required."],
    });
    expect(error.fieldErrors).toEqual((error as DiditValidationError).fields);
    expect(error.message).toContain("for_application_id: This field is required.");
    expect(error.message).toContain("contact_details.email: Enter a valid email address.");
  });

  it("gives a 400 with only a detail empty fields", () => {
    const error = fail(400, {
      detail: "Only finished sessions (Approved, Declined, In Review) can be shared.",
    });
    expect((error as DiditValidationError).fields).toEqual({});
    expect(error.fieldErrors).toBeUndefined();
    expect(error.message).toBe(
      "Didit getDecision failed (HTTP 400): Only finished sessions (Approved, Declined, In Review) can be shared.",
    );
  });

  it("keeps a field named __proto__ as a field", () => {
    const error = fail(400, JSON.parse('{"__proto__":["bad"]}'));
    expect(Object.keys((error as DiditValidationError).fields)).toEqual(["__proto__"]);
  });

  it("carries Retry-After on a rate-limit error", () => {
    const error = fail(429, { detail: "Request was throttled. Expected available in 7 seconds." }, 7);
    expect(error).toBeInstanceOf(DiditRateLimitError);
    expect((error as DiditRateLimitError).retryAfterSeconds).toBe(7);
  });

  it("strips the API key and anything JWT-shaped that a body echoes back", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzZXNzaW9uX2lkIjoieCJ9.c2lnbmF0dXJl";
    const error = fail(400, { detail: `key ${API_KEY} rejected`, share_token: [`Invalid token ${jwt}`] });
    const everything = `${error.message}\n${JSON.stringify(error)}\n${inspect(error, { depth: 10 })}`;
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain(jwt);
    expect(everything).toContain("[redacted]");
  });
});

describe("transport failures", () => {
  it("reports a timeout as unavailable with no status", () => {
    const error = errorFromTransport("getDecision", new Error("aborted"), true, 250);
    expect(error).toBeInstanceOf(DiditUnavailableError);
    expect(error.status).toBeNull();
    expect(error.retryable).toBe(true);
    expect(error.message).toBe("Didit getDecision failed (no response): no response within 250 ms");
  });

  it("names the network error code", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const error = errorFromTransport("createSession", cause, false, 250);
    expect(error.detail).toBe("network error (ECONNREFUSED)");
    expect(error.cause).toBe(cause);
  });
});
