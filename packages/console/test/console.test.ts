import type { Import, PartnerAAuditEvent, PartnerBAuditEvent, Share } from "@share-broker/contracts";
import { createLogger } from "@share-broker/service-kit";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConsoleApp, PartnerApi } from "../src/index.js";

const SHARE_ID = "5a1e0000-0000-4000-8000-000000000001";
const HOSTILE = `<script>alert("x")</script>`;
const KEY_A = "console-test-key-a-000001";
const KEY_B = "console-test-key-b-000001";

// The stand-in partners answer exactly what the contract says (the types hold them to it), with
// hostile strings where the page must escape them.
const share: Share = {
  share_id: SHARE_ID,
  user_id: `user-${HOSTILE}`,
  status: "imported",
  audience: "partner-b",
  purpose: "onboarding",
  scope: "kyc",
  consent_id: "c0000000-0000-4000-8000-000000000001",
  reason: null,
  revoked_at: null,
  expires_at: "2030-01-01T00:15:00.000Z",
  created_at: "2030-01-01T00:00:01.000Z",
  updated_at: "2030-01-01T00:00:03.000Z",
  import: { status: "imported", session_status: "Approved", reason: null, at: "2030-01-01T00:00:03.000Z" },
};
const importAtB: Import = {
  import_id: "1b000000-0000-4000-8000-000000000001",
  share_id: SHARE_ID,
  source: "partner-a",
  status: "imported",
  reason: null,
  vendor_data: HOSTILE,
  link_id: "1c000000-0000-4000-8000-000000000001",
  user_pseudonym: "p_1",
  purpose: "onboarding",
  scope: "kyc",
  session_kind: "user",
  token_id: "tok_1",
  token_expires_at: "2030-01-01T00:15:00.000Z",
  attempts: 1,
  policy: { version: "dev-1", workflow_id: "w", trust_review: true },
  didit: { session_id: "d0000000-0000-4000-8000-000000000001", status: "Approved", shared_from_session: "s" },
  review: null,
  consent_withdrawn_at: null,
  received_at: "2030-01-01T00:00:02.000Z",
  decided_at: "2030-01-01T00:00:02.500Z",
  erased_at: null,
  updated_at: "2030-01-01T00:00:02.500Z",
};
const common = (id: string, at: string, outcome: string) => ({
  id,
  occurred_at: at,
  outcome,
  user_pseudonym: "p_1",
  purpose: "onboarding",
  scope: "kyc",
  share_id: SHARE_ID as string | null,
  token_id: null,
  token_expires_at: null,
  request_id: null,
  principal: "operator" as string | null,
  details: {} as Record<string, unknown>,
});
const eventAtA = (
  id: string,
  at: string,
  action: PartnerAAuditEvent["action"],
  outcome: string,
  extra: Partial<PartnerAAuditEvent> = {},
): PartnerAAuditEvent => ({ ...common(id, at, outcome), action, audience: "partner-b", ...extra });
const eventAtB = (
  id: string,
  at: string,
  action: PartnerBAuditEvent["action"],
  outcome: string,
  extra: Partial<PartnerBAuditEvent> = {},
): PartnerBAuditEvent => ({
  ...common(id, at, outcome),
  action,
  source_partner: "partner-a",
  import_id: importAtB.import_id,
  ...extra,
});

/** A stand-in for a partner's read API that checks the console's Bearer key. */
async function fakePartner(key: string, routes: Record<string, unknown>): Promise<FastifyInstance> {
  const app = Fastify();
  app.addHook("onRequest", async (request, reply) => {
    if (request.headers.authorization !== `Bearer ${key}`) return reply.code(401).send({ error: {} });
  });
  app.get("/*", async (request, reply) => {
    const path = request.url.split("?")[0] as string;
    const query = new URLSearchParams(request.url.split("?")[1] ?? "");
    const body = routes[path];
    if (body === undefined) return reply.code(404).send({ error: { code: "not_found" } });
    return typeof body === "function" ? body(query) : body;
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  return app;
}

const urlOf = (app: FastifyInstance) => {
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
};

let partnerA: FastifyInstance;
let partnerB: FastifyInstance;
let consoleApp: FastifyInstance;

beforeAll(async () => {
  partnerA = await fakePartner(KEY_A, {
    "/healthz": { status: "ok" },
    "/v1/shares": { shares: [share], next_cursor: null },
    [`/v1/shares/${SHARE_ID}`]: share,
    "/v1/audit": (query: URLSearchParams) => ({
      events: query.get("share_id")
        ? [
            eventAtA("12", "2030-01-01T00:00:03.000Z", "share.result", "imported"),
            eventAtA("11", "2030-01-01T00:00:01.200Z", "share.sent", "sent"),
            eventAtA("10", "2030-01-01T00:00:01.000Z", "share.accepted", "accepted"),
          ]
        : [
            eventAtA("9", "2030-01-01T00:00:00.500Z", "consent.granted", "granted", {
              share_id: null,
              details: { consent_id: share.consent_id },
            }),
            eventAtA("8", "2030-01-01T00:00:00.400Z", "consent.granted", "granted", {
              share_id: null,
              details: { consent_id: "another-consent" },
            }),
          ],
      next_cursor: null,
    }),
  });
  partnerB = await fakePartner(KEY_B, {
    "/healthz": { status: "ok" },
    "/v1/imports": { imports: [importAtB], next_cursor: null },
    "/v1/audit": {
      events: [
        eventAtB("7", "2030-01-01T00:00:02.000Z", "import.imported", "imported", {
          details: { note: HOSTILE },
        }),
      ],
      next_cursor: null,
    },
  });
  consoleApp = await consoleFor(urlOf(partnerB));
});
afterAll(async () => {
  await consoleApp?.close();
  await partnerA?.close();
  await partnerB?.close();
});

function consoleFor(partnerBUrl: string, allowRemote = false) {
  return buildConsoleApp({
    config: { CONSOLE_REFRESH_MS: 1000, CONSOLE_ALLOW_REMOTE: allowRemote },
    logger: createLogger({ service: "console", level: "silent" }),
    partners: {
      a: new PartnerApi({ name: "partner-a", baseUrl: urlOf(partnerA), apiKey: KEY_A }),
      b: new PartnerApi({ name: "partner-b", baseUrl: partnerBUrl, apiKey: KEY_B }),
    },
  });
}

const get = (app: FastifyInstance, url: string, host = "127.0.0.1:3000") =>
  app.inject({ method: "GET", url, headers: { host } });

describe("the console", () => {
  it("merges partner-a's share with partner-b's import, in the JSON the page refreshes from", async () => {
    const response = await get(consoleApp, `/api/shares?share=${SHARE_ID}`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.sources["partner-a"]).toMatchObject({ ok: true });
    expect(body.shares).toHaveLength(1);
    expect(body.shares[0].share.status).toBe("imported");
    expect(body.shares[0].import_at_b).toMatchObject({ status: "imported", didit: { status: "Approved" } });
    expect(body.selected.timeline.map((e: { action: string }) => e.action)).toEqual([
      "consent.granted",
      "share.accepted",
      "share.sent",
      "import.imported",
      "share.result",
    ]);
    expect(body.selected.timeline.map((e: { side: string }) => e.side)).toEqual([
      "partner-a",
      "partner-a",
      "partner-a",
      "partner-b",
      "partner-a",
    ]);
    expect(Object.keys(body.html)).toEqual(["console-status", "console-shares", "console-detail"]);
  });

  it("renders the page server-side with every partner value escaped and a nonce-only CSP", async () => {
    const response = await get(consoleApp, `/?share=${SHARE_ID}`);
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/html");
    const csp = String(response.headers["content-security-policy"]);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(response.body).toContain(`<script nonce="${nonce}">`);
    expect(response.body).not.toContain(HOSTILE);
    expect(response.body).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(response.body).toContain("Verification imported into partner-b&#39;s Didit application");
    expect(response.body).toContain("keeps partner-a&#39;s verdict");
    // The console holds the partners' keys; it never shows them.
    expect(response.body).not.toContain(KEY_A);
    expect(response.body).not.toContain(KEY_B);
  });

  it("still shows partner-a's shares when partner-b cannot be reached, and says so", async () => {
    const detached = await consoleFor("http://127.0.0.1:9");
    try {
      const body = (await get(detached, "/api/shares")).json();
      expect(body.shares).toHaveLength(1);
      expect(body.shares[0].import_at_b).toBeNull();
      expect(body.sources["partner-b"].ok).toBe(false);
      expect(body.sources["partner-b"].error).toContain("unreachable");
      expect(body.html["console-status"]).toContain("partner-b");
      expect((await get(detached, "/readyz")).statusCode).toBe(503);
    } finally {
      await detached.close();
    }
  });

  it("answers only requests addressed to a loopback name unless remote access is allowed", async () => {
    expect((await get(consoleApp, "/", "console.example.com")).statusCode).toBe(403);
    expect((await get(consoleApp, "/api/shares", "attacker.example:3000")).json().error.code).toBe(
      "forbidden_host",
    );
    expect((await get(consoleApp, "/healthz", "localhost:3000")).statusCode).toBe(200);
    expect((await get(consoleApp, "/healthz", "[::1]:3000")).statusCode).toBe(200);
    const remote = await consoleFor(urlOf(partnerB), true);
    try {
      expect((await get(remote, "/", "console.internal:3000")).statusCode).toBe(200);
    } finally {
      await remote.close();
    }
  });

  it("refuses an unknown status filter or a malformed share id with 400", async () => {
    expect((await get(consoleApp, "/api/shares?status=lost")).statusCode).toBe(400);
    expect((await get(consoleApp, "/?share=../../v1/audit")).statusCode).toBe(400);
  });

  it("reports a partner whose answer drifts from the contract instead of drawing half a row", async () => {
    const { status: _dropped, ...withoutStatus } = importAtB;
    const drifted = await fakePartner(KEY_B, {
      "/healthz": { status: "ok" },
      "/v1/imports": { imports: [{ ...withoutStatus, state: "imported" }], next_cursor: null },
    });
    const drifting = await consoleFor(urlOf(drifted));
    try {
      const body = (await get(drifting, "/api/shares")).json();
      expect(body.shares).toHaveLength(1);
      expect(body.shares[0].import_at_b).toBeNull();
      expect(body.sources["partner-b"]).toEqual({
        url: urlOf(drifted),
        ok: false,
        error: "partner-b: GET /v1/imports answered an unexpected body",
      });
    } finally {
      await drifting.close();
      await drifted.close();
    }
  });
});
