import {
  DiditAuthError,
  DiditNotFoundError,
  DiditValidationError,
  type SessionPage,
} from "@share-broker/didit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  APP_A,
  APP_B,
  APP_D_DELETED,
  finishedSession,
  jsonOf,
  rejectionOf,
  type Sandbox,
  startSandbox,
} from "./helpers.js";

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.stop();
});
beforeEach(async () => {
  await sandbox.reset();
});

const a = () => sandbox.client(APP_A.apiKey);
const b = () => sandbox.client(APP_B.apiKey);

/** A pagination URL's origin and query, so parameter order does not matter. */
function pageOf(url: string | null): Record<string, string> | null {
  if (url === null) return null;
  const parsed = new URL(url);
  expect(parsed.pathname).toBe("/v3/sessions/");
  return { origin: parsed.origin, ...Object.fromEntries(parsed.searchParams) };
}

describe("authentication and paths", () => {
  it("answers 401 for a wrong, missing or soft-deleted application's x-api-key", async () => {
    for (const apiKey of ["wrong-key-123456", APP_D_DELETED.apiKey]) {
      const error = await rejectionOf(sandbox.client(apiKey).listSessions());
      expect(error).toBeInstanceOf(DiditAuthError);
    }
    const missing = await sandbox.api("POST", "/v3/session/", {
      apiKey: null,
      body: { workflow_id: APP_A.kyc },
    });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ detail: expect.any(String) });
  });

  it("answers 403 for a path without its trailing slash, even with a valid key", async () => {
    const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    for (const [method, path] of [
      ["POST", "/v3/session"],
      ["GET", `/v3/session/${sessionId}/decision`],
      ["GET", "/v3/sessions"],
      ["POST", `/v3/session/${sessionId}/share`],
      ["POST", "/v3/session/import-shared"],
      ["PATCH", `/v3/session/${sessionId}/update-status`],
      ["DELETE", `/v3/session/${sessionId}/delete`],
    ] as const) {
      const response = await sandbox.api(method, path, { body: method === "GET" ? undefined : {} });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(await response.json()).toEqual({ detail: expect.any(String) });
    }
  });

  it("answers DRF bodies for an unknown path, a wrong method and malformed JSON", async () => {
    const unknown = await sandbox.api("GET", "/v3/nothing-here/");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ detail: "Not found." });
    const wrongMethod = await sandbox.api("GET", "/v3/session/");
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toEqual({ detail: 'Method "GET" not allowed.' });
    const malformed = await sandbox.api("POST", "/v3/session/", { raw: "{not json" });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ detail: expect.stringMatching(/^JSON parse error/) });
    const list = await sandbox.api("POST", "/v3/session/", { raw: "[1,2]" });
    expect(list.status).toBe(400);
    expect(await list.json()).toEqual({
      non_field_errors: [expect.stringContaining("Expected a dictionary")],
    });
  });

  it("hides another application's session behind 404 on every route", async () => {
    const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    await expect(b().getDecision(sessionId)).rejects.toBeInstanceOf(DiditNotFoundError);
    await expect(b().updateSessionStatus(sessionId, { new_status: "Declined" })).rejects.toBeInstanceOf(
      DiditNotFoundError,
    );
    await expect(b().deleteSession(sessionId)).rejects.toBeInstanceOf(DiditNotFoundError);
    expect((await b().listSessions()).count).toBe(0);
    expect((await a().getDecision(sessionId)).session_id).toBe(sessionId);
  });
});

describe("create session", () => {
  it("creates a Not Started session with a hosted URL and answers 201", async () => {
    const response = await sandbox.api("POST", "/v3/session/", {
      body: {
        workflow_id: APP_A.kyc,
        vendor_data: "user-1",
        callback: "https://a.example/done",
        metadata: { k: 1 },
      },
    });
    expect(response.status).toBe(201);
    const created = await jsonOf<{ session_token: string }>(response);
    expect(created).toEqual({
      session_id: expect.any(String),
      session_number: expect.any(Number),
      session_token: expect.stringMatching(/^[A-Za-z0-9]{12}$/),
      url: `${sandbox.url}/session/${created.session_token}`,
      vendor_data: "user-1",
      metadata: { k: 1 },
      status: "Not Started",
      workflow_id: APP_A.kyc,
      workflow_version: 1,
      callback: "https://a.example/done",
      session_kind: "user",
    });
  });

  it("validates the body with field errors and answers 404 for an unknown workflow", async () => {
    const missing = await sandbox.api("POST", "/v3/session/", { body: { callback: "not a url" } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      workflow_id: ["This field is required."],
      callback: ["Enter a valid URL."],
    });
    const nested = await sandbox.api("POST", "/v3/session/", {
      body: { workflow_id: APP_A.kyc, contact_details: { email: "nope" }, callback_method: "sometimes" },
    });
    expect(nested.status).toBe(400);
    expect(await nested.json()).toEqual({
      callback_method: ['"sometimes" is not a valid choice.'],
      contact_details: { email: ["Enter a valid email address."] },
    });
    const error = await rejectionOf(
      a().createSession({ workflow_id: "99999999-9999-4999-8999-999999999999" }),
    );
    expect(error).toBeInstanceOf(DiditNotFoundError);
    await expect(a().createSession({ workflow_id: APP_B.kyc })).rejects.toBeInstanceOf(DiditNotFoundError);
  });

  it("returns the unfinished session for the same vendor_data and workflow, overwriting callback and metadata", async () => {
    const first = await a().createSession({
      workflow_id: APP_A.kyc,
      vendor_data: "user-reuse",
      callback: "https://a.example/one",
      metadata: { attempt: 1 },
    });
    const again = await a().createSession({
      workflow_id: APP_A.kyc,
      vendor_data: "user-reuse",
      callback: "https://a.example/two",
      metadata: { attempt: 2 },
    });
    expect(again.session_id).toBe(first.session_id);
    expect(again.url).toBe(first.url);
    expect(again.callback).toBe("https://a.example/two");
    expect(again.metadata).toEqual({ attempt: 2 });

    const otherWorkflow = await a().createSession({
      workflow_id: APP_A.reusableKyc,
      vendor_data: "user-reuse",
    });
    expect(otherWorkflow.session_id).not.toBe(first.session_id);
    const otherUser = await a().createSession({ workflow_id: APP_A.kyc, vendor_data: "someone-else" });
    expect(otherUser.session_id).not.toBe(first.session_id);
    const noVendorData = [
      await a().createSession({ workflow_id: APP_A.kyc }),
      await a().createSession({ workflow_id: APP_A.kyc }),
    ];
    expect(noVendorData[0]?.session_id).not.toBe(noVendorData[1]?.session_id);
  });

  it("never reuses a finished session, and reuses a Resubmitted one", async () => {
    const finished = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Declined", "user-done");
    const next = await a().createSession({ workflow_id: APP_A.kyc, vendor_data: "user-done" });
    expect(next.session_id).not.toBe(finished);
    expect(next.status).toBe("Not Started");

    await a().updateSessionStatus(finished, { new_status: "Resubmitted" });
    await a().deleteSession(next.session_id);
    const reused = await a().createSession({ workflow_id: APP_A.kyc, vendor_data: "user-done" });
    expect(reused.session_id).toBe(finished);
    expect(reused.status).toBe("Resubmitted");
  });

  it("expires an unopened session after its lifetime on the sandbox clock", async () => {
    const created = await a().createSession({ workflow_id: APP_A.kyc, vendor_data: "user-expiring" });
    await sandbox.control("POST", "/clock", { advance_seconds: 7 * 24 * 3600 });
    await expect.poll(async () => (await a().getDecision(created.session_id)).status).toBe("Expired");
    const fresh = await a().createSession({ workflow_id: APP_A.kyc, vendor_data: "user-expiring" });
    expect(fresh.session_id).not.toBe(created.session_id);
  });
});

describe("decision", () => {
  it("shows null feature blocks before the flow and generated KYC data after it", async () => {
    const created = await a().createSession({
      workflow_id: APP_A.kyc,
      vendor_data: "user-decision",
      expected_details: { first_name: "Zoë", last_name: "Østergaard", date_of_birth: "1990-02-03" },
    });
    const before = await a().getDecision(created.session_id);
    expect(before).toMatchObject({
      status: "Not Started",
      environment: "live",
      id_verifications: null,
      face_matches: null,
    });
    expect(before.shared_from_session).toBeNull();

    await sandbox.control("POST", `/sessions/${created.session_id}/complete`, { status: "Approved" });
    const after = await a().getDecision(created.session_id);
    expect(after.status).toBe("Approved");
    expect(after.features).toEqual(expect.arrayContaining(["ID_VERIFICATION", "LIVENESS", "FACE_MATCH"]));
    const document = after.id_verifications?.[0];
    expect(document).toMatchObject({
      node_id: expect.any(String),
      status: "Approved",
      first_name: "Zoë",
      last_name: "Østergaard",
      full_name: "Zoë Østergaard",
      date_of_birth: "1990-02-03",
      document_number: expect.any(String),
      issuing_state: expect.stringMatching(/^[A-Z]{3}$/),
    });
    expect(after.liveness_checks?.[0]?.status).toBe("Approved");
    expect(after.face_matches?.[0]?.status).toBe("Approved");
  });

  it("pins a Declined verdict on a feature and keeps the others", async () => {
    const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Declined");
    const decision = await a().getDecision(sessionId);
    expect(decision.id_verifications?.[0]?.status).toBe("Declined");
    expect(decision.liveness_checks?.[0]?.status).toBe("Approved");
  });
});

describe("update-status", () => {
  it("moves a finished session to Approved or Declined and answers session_id and session_kind", async () => {
    const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "In Review");
    expect(await a().updateSessionStatus(sessionId, { new_status: "Approved", comment: "ok" })).toEqual({
      session_id: sessionId,
      session_kind: "user",
    });
    expect((await a().getDecision(sessionId)).status).toBe("Approved");
    await a().updateSessionStatus(sessionId, { new_status: "Declined" });
    expect((await a().getDecision(sessionId)).status).toBe("Declined");
  });

  it("refuses an unfinished session, Resubmitted from Approved, and targets outside the enum", async () => {
    const created = await a().createSession({ workflow_id: APP_A.kyc });
    const unfinished = await rejectionOf(
      a().updateSessionStatus(created.session_id, { new_status: "Approved" }),
    );
    expect(unfinished).toBeInstanceOf(DiditValidationError);
    expect((unfinished as DiditValidationError).fields).toEqual({});

    const approved = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Approved");
    await expect(a().updateSessionStatus(approved, { new_status: "Resubmitted" })).rejects.toBeInstanceOf(
      DiditValidationError,
    );
    const inReview = await sandbox.api("PATCH", `/v3/session/${approved}/update-status/`, {
      body: { new_status: "In Review" },
    });
    expect(inReview.status).toBe(400);
    expect(await inReview.json()).toEqual({ new_status: ['"In Review" is not a valid choice.'] });
    const noEmail = await sandbox.api("PATCH", `/v3/session/${approved}/update-status/`, {
      body: { new_status: "Declined", send_email: true },
    });
    expect(noEmail.status).toBe(400);
    expect(Object.keys(await jsonOf(noEmail))).toEqual(["email_address"]);
  });

  it("allows Resubmitted from Declined, In Review and Abandoned, and updates from Kyc Expired", async () => {
    for (const status of ["Declined", "In Review", "Abandoned"] as const) {
      const created = await a().createSession({ workflow_id: APP_A.kyc });
      await sandbox.control("POST", `/sessions/${created.session_id}/complete`, { status });
      await a().updateSessionStatus(created.session_id, { new_status: "Resubmitted" });
      expect((await a().getDecision(created.session_id)).status).toBe("Resubmitted");
    }
    const expired = await a().createSession({ workflow_id: APP_A.kyc });
    await sandbox.control("POST", `/sessions/${expired.session_id}/complete`, { status: "Kyc Expired" });
    await a().updateSessionStatus(expired.session_id, { new_status: "Approved" });
    expect((await a().getDecision(expired.session_id)).status).toBe("Approved");
  });
});

describe("list and delete", () => {
  it("pages newest first with DRF limit-offset next and previous URLs", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await a().createSession({ workflow_id: APP_A.kyc, vendor_data: `pager-${i}` })).session_id);
    }
    await a().createSession({ workflow_id: APP_A.kyc, vendor_data: "other" });
    const first = await a().listSessions({ limit: 2 });
    expect(first.count).toBe(6);
    expect(first.previous).toBeNull();
    expect(first.results.map((row) => row.vendor_data)).toEqual(["other", "pager-4"]);
    expect(pageOf(first.next)).toEqual({ origin: sandbox.url, limit: "2", offset: "2" });

    const nextUrl = new URL(first.next as string);
    const second = await jsonOf<SessionPage>(
      await sandbox.api("GET", `${nextUrl.pathname}${nextUrl.search}`),
    );
    expect(second.results.map((row) => row.vendor_data)).toEqual(["pager-3", "pager-2"]);
    expect(pageOf(second.previous)).toEqual({ origin: sandbox.url, limit: "2" });
    const last = await a().listSessions({ limit: 2, offset: 4 });
    expect(last.next).toBeNull();
    expect(pageOf(last.previous)).toEqual({ origin: sandbox.url, limit: "2", offset: "2" });
    expect(last.results.map((row) => row.session_id)).toEqual([ids[1], ids[0]]);
    expect(last.results[0]).toEqual({
      session_id: ids[1],
      session_number: expect.any(Number),
      session_kind: "user",
      status: "Not Started",
      workflow_id: APP_A.kyc,
      vendor_data: "pager-1",
      created_at: expect.stringMatching(/Z$/),
      shared_from_session: null,
    });

    const filtered = await a().listSessions({ vendor_data: "pager-3" });
    expect(filtered.count).toBe(1);
    expect((await a().listSessions({ status: "Approved" })).count).toBe(0);
    const keepsFilters = await a().listSessions({ workflow_id: APP_A.kyc, limit: 1 });
    expect(keepsFilters.next).toContain(`workflow_id=${APP_A.kyc}`);
  });

  it("deletes with 204, after which the decision is 404", async () => {
    const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const response = await sandbox.api("DELETE", `/v3/session/${sessionId}/delete/`);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    await expect(a().getDecision(sessionId)).rejects.toBeInstanceOf(DiditNotFoundError);
    await expect(a().deleteSession(sessionId)).rejects.toBeInstanceOf(DiditNotFoundError);
  });
});
