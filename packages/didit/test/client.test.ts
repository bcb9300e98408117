import { inspect } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  DiditAuthError,
  DiditClient,
  type DiditClientOptions,
  DiditError,
  DiditForbiddenError,
  DiditNotFoundError,
  DiditRateLimitError,
  DiditUnavailableError,
  DiditValidationError,
} from "../src/index.js";
import {
  always,
  inSequence,
  type StubReply,
  type StubServer,
  startStubServer,
} from "./support/stub-server.js";

const API_KEY = "sk_test_client_4e1b8d0c";
const SHARE_TOKEN =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXNzaW9uX2lkIjoiYWJjIiwiZXhwIjoxNzc0OTcwOTAwfQ.dGhpcy1pcy1ub3QtYS1zaWduYXR1cmU";
const SESSION_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const WORKFLOW_ID = "22222222-3333-4444-5555-666666666666";

const decision = { session_id: SESSION_ID, session_number: 1, session_url: null, status: "Approved" };

let server: StubServer | undefined;
let client: DiditClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

async function setup(
  script: Parameters<typeof startStubServer>[0],
  options: Partial<DiditClientOptions> = {},
) {
  server = await startStubServer(script);
  const sleep = vi.fn(async (_ms: number) => {});
  client = new DiditClient({ baseUrl: server.baseUrl, apiKey: API_KEY, sleep, ...options });
  return { server, client, sleep };
}

function expectNoSecrets(error: unknown): void {
  const rendered = [
    String(error),
    (error as Error).stack ?? "",
    JSON.stringify(error),
    inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
  ].join("\n");
  expect(rendered).not.toContain(API_KEY);
  expect(rendered).not.toContain(SHARE_TOKEN);
}

async function rejection(promise: Promise<unknown>): Promise<DiditError> {
  const error = await promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DiditError);
  return error as DiditError;
}

describe("DiditClient requests", () => {
  it("sends x-api-key and JSON to paths that end in a slash", async () => {
    const { server, client } = await setup((request) => {
      const replies: Record<string, StubReply> = {
        "POST /v3/session/": { status: 201, body: { session_id: SESSION_ID, status: "Not Started" } },
        [`GET /v3/session/${SESSION_ID}/decision/`]: { status: 200, body: decision },
        "GET /v3/sessions/?vendor_data=user-1&limit=5": { status: 200, body: { count: 0, results: [] } },
        [`POST /v3/session/${SESSION_ID}/share/`]: {
          status: 200,
          body: { share_token: SHARE_TOKEN, for_application_id: "app-b", session_kind: "user" },
        },
        "POST /v3/session/import-shared/": { status: 201, body: { session_id: "new", status: "In Review" } },
        [`PATCH /v3/session/${SESSION_ID}/update-status/`]: { status: 200, body: { session_id: SESSION_ID } },
        [`DELETE /v3/session/${SESSION_ID}/delete/`]: { status: 204 },
      };
      return replies[`${request.method} ${request.url}`] ?? { status: 418, body: { detail: "unexpected" } };
    });

    await expect(
      client.createSession({ workflow_id: WORKFLOW_ID, vendor_data: "user-1" }),
    ).resolves.toMatchObject({
      session_id: SESSION_ID,
    });
    await expect(client.getDecision(SESSION_ID)).resolves.toEqual(decision);
    await expect(client.listSessions({ vendor_data: "user-1", limit: 5 })).resolves.toMatchObject({
      count: 0,
    });
    await expect(
      client.shareSession(SESSION_ID, { for_application_id: "app-b", ttl_in_seconds: 900 }),
    ).resolves.toMatchObject({ share_token: SHARE_TOKEN });
    await expect(
      client.importSharedSession({ share_token: SHARE_TOKEN, workflow_id: WORKFLOW_ID, trust_review: false }),
    ).resolves.toMatchObject({ status: "In Review" });
    await expect(client.updateSessionStatus(SESSION_ID, { new_status: "Approved" })).resolves.toEqual({
      session_id: SESSION_ID,
    });
    await expect(client.deleteSession(SESSION_ID)).resolves.toBeUndefined();

    expect(server.requests).toHaveLength(7);
    for (const request of server.requests) {
      expect(request.url.split("?")[0]).toMatch(/\/$/);
      expect(request.headers["x-api-key"]).toBe(API_KEY);
      expect(request.headers.accept).toBe("application/json");
      if (request.body !== "") expect(request.headers["content-type"]).toBe("application/json");
    }
  });

  it("sends ttl_in_seconds as a JSON integer and trust_review even when false", async () => {
    const { server, client } = await setup(always({ status: 200, body: { share_token: "t" } }));
    await client.shareSession(SESSION_ID, { for_application_id: "app-b", ttl_in_seconds: 900 });
    await client.importSharedSession({
      share_token: SHARE_TOKEN,
      workflow_id: WORKFLOW_ID,
      trust_review: false,
    });
    expect(server.requests[0]?.body).toBe('{"for_application_id":"app-b","ttl_in_seconds":900}');
    expect(JSON.parse(server.requests[1]?.body ?? "")).toEqual({
      share_token: SHARE_TOKEN,
      workflow_id: WORKFLOW_ID,
      trust_review: false,
    });
  });

  it("URL-encodes session ids in paths", async () => {
    const { server, client } = await setup(always({ status: 200, body: decision }));
    await client.getDecision("a/b c?d");
    expect(server.requests[0]?.url).toBe("/v3/session/a%2Fb%20c%3Fd/decision/");
  });

  it("keeps a base URL path prefix and accepts a trailing slash on the base URL", async () => {
    server = await startStubServer(always({ status: 200, body: decision }));
    client = new DiditClient({ baseUrl: `${server.baseUrl}/didit/`, apiKey: API_KEY });
    await client.getDecision(SESSION_ID);
    expect(server.requests[0]?.url).toBe(`/didit/v3/session/${SESSION_ID}/decision/`);
  });

  it("refuses a base URL that already ends in /v3, which would double the prefix", () => {
    expect(() => new DiditClient({ baseUrl: "https://verification.didit.me/v3", apiKey: API_KEY })).toThrow(
      /must not include \/v3/,
    );
  });

  it("does not follow a redirect, since following would drop x-api-key", async () => {
    const { server, client } = await setup(always({ status: 301, headers: { location: "/elsewhere/" } }));
    const error = await rejection(client.getDecision(SESSION_ID));
    expect(error.status).toBe(301);
    expect(server.requests).toHaveLength(1);
  });

  it("fails a 2xx whose body is not a JSON object", async () => {
    const { client } = await setup(always({ status: 200, rawBody: "<html>ok</html>" }));
    const error = await rejection(client.getDecision(SESSION_ID));
    expect(error.status).toBe(200);
    expect(error.retryable).toBe(false);
  });
});

describe("DiditClient retries", () => {
  const throttled: StubReply = {
    status: 429,
    headers: { "retry-after": "7" },
    body: { detail: "Request was throttled. Expected available in 7 seconds." },
  };

  it("retries a GET after the 429's Retry-After seconds", async () => {
    const { server, client, sleep } = await setup(inSequence(throttled, { status: 200, body: decision }));
    await expect(client.getDecision(SESSION_ID)).resolves.toEqual(decision);
    expect(server.requests).toHaveLength(2);
    expect(sleep.mock.calls).toEqual([[7_000]]);
  });

  it("surfaces DiditRateLimitError with retryAfterSeconds once retries are exhausted", async () => {
    const { server, client, sleep } = await setup(always(throttled), { maxRetries: 2 });
    const error = await rejection(client.listSessions({ vendor_data: "user-1" }));
    expect(error).toBeInstanceOf(DiditRateLimitError);
    expect((error as DiditRateLimitError).retryAfterSeconds).toBe(7);
    expect(error.retryable).toBe(true);
    expect(server.requests).toHaveLength(3);
    expect(sleep.mock.calls).toEqual([[7_000], [7_000]]);
  });

  it("backs off 5, 10, 20, 40 s on a GET when the server gives no Retry-After", async () => {
    const { server, client, sleep } = await setup(always({ status: 503, body: { detail: "down" } }), {
      maxRetries: 4,
    });
    const error = await rejection(client.getDecision(SESSION_ID));
    expect(error).toBeInstanceOf(DiditUnavailableError);
    expect(server.requests).toHaveLength(5);
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([5_000, 10_000, 20_000, 40_000]);
  });

  it("surfaces a 429 at once when Retry-After exceeds the longest allowed wait", async () => {
    const { server, client, sleep } = await setup(
      always({ ...throttled, headers: { "retry-after": "120" } }),
      { maxRetryDelayMs: 60_000 },
    );
    const error = await rejection(client.getDecision(SESSION_ID));
    expect((error as DiditRateLimitError).retryAfterSeconds).toBe(120);
    expect(server.requests).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it("does not retry a 503 on import-shared, and surfaces DiditUnavailableError", async () => {
    const { server, client, sleep } = await setup(
      always({ status: 503, body: { detail: "Service unavailable" } }),
    );
    const error = await rejection(
      client.importSharedSession({ share_token: SHARE_TOKEN, workflow_id: WORKFLOW_ID, trust_review: true }),
    );
    expect(error).toBeInstanceOf(DiditUnavailableError);
    expect(error.status).toBe(503);
    expect(server.requests).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it.each([
    ["shareSession", (c: DiditClient) => c.shareSession(SESSION_ID, { for_application_id: "app-b" })],
    [
      "updateSessionStatus",
      (c: DiditClient) => c.updateSessionStatus(SESSION_ID, { new_status: "Declined" }),
    ],
    ["deleteSession", (c: DiditClient) => c.deleteSession(SESSION_ID)],
    ["createSession without vendor_data", (c: DiditClient) => c.createSession({ workflow_id: WORKFLOW_ID })],
  ])("does not retry %s on 429 or 5xx", async (_label, call) => {
    const { server, client } = await setup(inSequence(throttled, { status: 502 }));
    await expect(call(client)).rejects.toBeInstanceOf(DiditRateLimitError);
    await expect(call(client)).rejects.toBeInstanceOf(DiditUnavailableError);
    expect(server.requests).toHaveLength(2);
  });

  it("retries createSession when vendor_data makes it idempotent", async () => {
    const created = { session_id: SESSION_ID, status: "Not Started" };
    const { server, client } = await setup(inSequence({ status: 502 }, { status: 201, body: created }));
    await expect(client.createSession({ workflow_id: WORKFLOW_ID, vendor_data: "user-1" })).resolves.toEqual(
      created,
    );
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]?.body).toBe(server.requests[1]?.body);
  });

  it("never retries a permanent error on a GET", async () => {
    const { server, client } = await setup(always({ status: 404, body: { detail: "Not found." } }));
    await expect(client.getDecision(SESSION_ID)).rejects.toBeInstanceOf(DiditNotFoundError);
    expect(server.requests).toHaveLength(1);
  });
});

describe("DiditClient failures", () => {
  it("turns a request that gets no answer within timeoutMs into DiditUnavailableError", async () => {
    const { server, client } = await setup(always({ status: 200, hang: true }), {
      timeoutMs: 150,
      maxRetries: 0,
    });
    const started = Date.now();
    const error = await rejection(client.getDecision(SESSION_ID));
    expect(error).toBeInstanceOf(DiditUnavailableError);
    expect(error.status).toBeNull();
    expect(error.message).toContain("no response within 150 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.requests).toHaveLength(1);
  });

  it("retries a timed-out GET", async () => {
    const { server, client, sleep } = await setup(
      inSequence({ status: 200, hang: true }, { status: 200, body: decision }),
      {
        timeoutMs: 150,
      },
    );
    await expect(client.getDecision(SESSION_ID)).resolves.toEqual(decision);
    expect(server.requests).toHaveLength(2);
    expect(sleep.mock.calls).toEqual([[5_000]]);
  });

  it("turns a refused connection into DiditUnavailableError", async () => {
    const stub = await startStubServer(always({ status: 200 }));
    const baseUrl = stub.baseUrl;
    await stub.close();
    client = new DiditClient({ baseUrl, apiKey: API_KEY, maxRetries: 0 });
    const error = await rejection(client.getDecision(SESSION_ID));
    expect(error).toBeInstanceOf(DiditUnavailableError);
    expect(error.detail).toMatch(/^network error/);
  });

  it("maps 400 field errors to DiditValidationError with fields", async () => {
    const { client } = await setup(
      always({
        status: 400,
        body: {
          for_application_id: ["This field is required."],
          ttl_in_seconds: ["Ensure this value is less than or equal to 86400."],
        },
      }),
    );
    const error = await rejection(
      client.shareSession(SESSION_ID, { for_application_id: "", ttl_in_seconds: 90_000 }),
    );
    expect(error).toBeInstanceOf(DiditValidationError);
    expect((error as DiditValidationError).fields).toEqual({
      for_application_id: ["This field is required."],
      ttl_in_seconds: ["Ensure this value is less than or equal to 86400."],
    });
    expect(error.retryable).toBe(false);
  });

  it.each([
    [401, DiditAuthError, "Share token is invalid or expired."],
    [403, DiditForbiddenError, "Session has already been imported."],
    [404, DiditNotFoundError, "Not found."],
  ])("maps import-shared %i to %o with Didit's detail", async (status, errorClass, detail) => {
    const { client } = await setup(always({ status, body: { detail } }));
    const error = await rejection(
      client.importSharedSession({ share_token: SHARE_TOKEN, workflow_id: WORKFLOW_ID, trust_review: true }),
    );
    expect(error).toBeInstanceOf(errorClass);
    expect(error.detail).toBe(detail);
    expect(error.operation).toBe("importSharedSession");
  });

  it("never puts the API key or the share token into an error, even when Didit echoes them", async () => {
    const { client } = await setup(
      inSequence(
        { status: 401, body: { detail: `Invalid token ${SHARE_TOKEN} for key ${API_KEY}` } },
        { status: 400, body: { share_token: [`Not a valid token: ${SHARE_TOKEN}`], workflow_id: [API_KEY] } },
        { status: 500, rawBody: `<html>${API_KEY} ${SHARE_TOKEN}</html>` },
      ),
    );
    const input = { share_token: SHARE_TOKEN, workflow_id: WORKFLOW_ID, trust_review: true };
    for (let attempt = 0; attempt < 3; attempt++) {
      expectNoSecrets(await rejection(client.importSharedSession(input)));
    }
  });

  it("keeps secrets out of timeout and network errors too", async () => {
    const { client } = await setup(always({ status: 200, hang: true }), { timeoutMs: 100, maxRetries: 0 });
    const input = { share_token: SHARE_TOKEN, workflow_id: WORKFLOW_ID, trust_review: true };
    expectNoSecrets(await rejection(client.importSharedSession(input)));
  });

  it("rejects bad arguments with a TypeError before sending anything", async () => {
    const { server, client } = await setup(always({ status: 200, body: {} }));
    await expect(client.getDecision("")).rejects.toThrow(TypeError);
    await expect(
      client.shareSession(SESSION_ID, { for_application_id: "b", ttl_in_seconds: 900.5 }),
    ).rejects.toThrow(TypeError);
    await expect(
      client.importSharedSession({ share_token: SHARE_TOKEN, workflow_id: WORKFLOW_ID } as never),
    ).rejects.toThrow(/trust_review/);
    expect(server.requests).toHaveLength(0);
  });
});
