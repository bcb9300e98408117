import {
  DiditAuthError,
  DiditForbiddenError,
  DiditNotFoundError,
  DiditValidationError,
  decodeShareTokenClaims,
} from "@share-broker/didit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  APP_A,
  APP_B,
  APP_C,
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
const c = () => sandbox.client(APP_C.apiKey);

async function tokenFor(sessionId: string, forApplicationId: string, ttl?: number): Promise<string> {
  const shared = await a().shareSession(sessionId, {
    for_application_id: forApplicationId,
    ttl_in_seconds: ttl,
  });
  return shared.share_token;
}

describe("share", () => {
  it("mints an HS256 token with the documented claims and a 3600 s default lifetime", async () => {
    const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const shared = await a().shareSession(sessionId, { for_application_id: APP_B.id });
    expect(shared).toEqual({
      share_token: expect.any(String),
      for_application_id: APP_B.id,
      session_kind: "user",
    });
    const header = JSON.parse(
      Buffer.from(shared.share_token.split(".")[0] as string, "base64url").toString(),
    );
    expect(header.alg).toBe("HS256");
    const decoded = decodeShareTokenClaims(shared.share_token);
    if (!decoded.ok) throw new Error("token did not decode");
    expect(decoded.claims).toMatchObject({
      session_id: sessionId,
      session_kind: "user",
      from_application_id: APP_A.id,
      for_application_id: APP_B.id,
    });
    expect(decoded.claims.exp - decoded.claims.iat).toBe(3600);
  });

  it("refuses to share an unfinished session with 400", async () => {
    const created = await a().createSession({ workflow_id: APP_A.kyc, vendor_data: "unfinished" });
    const error = await rejectionOf(a().shareSession(created.session_id, { for_application_id: APP_B.id }));
    expect(error).toBeInstanceOf(DiditValidationError);
    expect((error as DiditValidationError).detail).toMatch(/^Only finished sessions .* can be shared\./);
  });

  it("refuses to share with an unknown, soft-deleted or its own application with 400 on for_application_id", async () => {
    const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    for (const target of ["99999999-9999-4999-8999-999999999999", APP_D_DELETED.id, APP_A.id]) {
      const error = await rejectionOf(a().shareSession(sessionId, { for_application_id: target }));
      expect(error).toBeInstanceOf(DiditValidationError);
      expect(Object.keys((error as DiditValidationError).fields)).toEqual(["for_application_id"]);
    }
    const notUuid = await sandbox.api("POST", `/v3/session/${sessionId}/share/`, {
      body: { for_application_id: "partner-b" },
    });
    expect(notUuid.status).toBe(400);
    expect(await notUuid.json()).toEqual({ for_application_id: ["Must be a valid UUID."] });
  });

  it("answers 400 for_application_id required when only the guide's audience/expires_in are sent", async () => {
    const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const response = await sandbox.api("POST", `/v3/session/${sessionId}/share/`, {
      body: { audience: APP_B.id, expires_in: 900 },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ for_application_id: ["This field is required."] });
  });

  it("rejects ttl_in_seconds outside 60..86400 with 400 and accepts a string of digits", async () => {
    const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    for (const ttl of [59, 86_401, 0, -1]) {
      const error = await rejectionOf(
        a().shareSession(sessionId, { for_application_id: APP_B.id, ttl_in_seconds: ttl }),
      );
      expect(error).toBeInstanceOf(DiditValidationError);
      expect(Object.keys((error as DiditValidationError).fields)).toEqual(["ttl_in_seconds"]);
    }
    for (const ttl of [60, 86_400]) {
      await expect(
        a().shareSession(sessionId, { for_application_id: APP_B.id, ttl_in_seconds: ttl }),
      ).resolves.toBeTruthy();
    }
    for (const [ttl, status] of [
      ["900", 200],
      ["abc", 400],
      [true, 400],
      [90.5, 400],
    ] as const) {
      const response = await sandbox.api("POST", `/v3/session/${sessionId}/share/`, {
        body: { for_application_id: APP_B.id, ttl_in_seconds: ttl },
      });
      expect(response.status, `ttl ${JSON.stringify(ttl)}`).toBe(status);
      const body = await jsonOf<{ share_token: string }>(response);
      if (status === 200) {
        const decoded = decodeShareTokenClaims(body.share_token);
        expect(decoded.ok && decoded.claims.exp - decoded.claims.iat).toBe(900);
      } else {
        expect(body).toEqual({ ttl_in_seconds: ["A valid integer is required."] });
      }
    }
  });

  it("answers 404 for another application's session, before looking at the body", async () => {
    const sessionId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const error = await rejectionOf(b().shareSession(sessionId, { for_application_id: APP_C.id }));
    expect(error).toBeInstanceOf(DiditNotFoundError);
    const response = await sandbox.api("POST", `/v3/session/${sessionId}/share/`, {
      apiKey: APP_B.apiKey,
      body: {},
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ detail: "Not found." });
  });

  it("checks the body before the session status", async () => {
    const created = await a().createSession({ workflow_id: APP_A.kyc });
    const response = await sandbox.api("POST", `/v3/session/${created.session_id}/share/`, { body: {} });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ for_application_id: ["This field is required."] });
  });
});

describe("import-shared", () => {
  it("imports a copy with a new id, shared_from_session and the compact 201 body", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const token = await tokenFor(sourceId, APP_B.id);
    const imported = await b().importSharedSession({
      share_token: token,
      workflow_id: APP_B.kyc,
      trust_review: true,
      vendor_data: "b-user-1",
    });
    expect(imported).toEqual({
      session_id: expect.any(String),
      session_number: expect.any(Number),
      session_url: null,
      status: "Approved",
      workflow_id: APP_B.kyc,
      vendor_data: "b-user-1",
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      expires_at: expect.stringMatching(/Z$/),
      session_kind: "user",
      shared_from_session: sourceId,
    });
    expect(imported.session_id).not.toBe(sourceId);
    expect(Date.parse(imported.expires_at as string) - Date.parse(imported.created_at as string)).toBe(
      7 * 24 * 3600 * 1000,
    );
    const source = await a().getDecision(sourceId);
    const copy = await b().getDecision(imported.session_id);
    expect(copy.shared_from_session).toBe(sourceId);
    expect(copy.id_verifications).toEqual(source.id_verifications);
    expect(copy.face_matches).toEqual(source.face_matches);
  });

  it("rejects a token addressed to another application with 403", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const tokenForC = await tokenFor(sourceId, APP_C.id);
    const error = await rejectionOf(
      b().importSharedSession({ share_token: tokenForC, workflow_id: APP_B.kyc, trust_review: true }),
    );
    expect(error).toBeInstanceOf(DiditForbiddenError);
  });

  it("rejects a second import into the same application, by the same or a fresh token, with 403", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const first = await tokenFor(sourceId, APP_B.id);
    const fresh = await tokenFor(sourceId, APP_B.id);
    await b().importSharedSession({ share_token: first, workflow_id: APP_B.kyc, trust_review: true });
    for (const token of [first, fresh]) {
      const error = await rejectionOf(
        b().importSharedSession({ share_token: token, workflow_id: APP_B.kyc, trust_review: true }),
      );
      expect(error).toBeInstanceOf(DiditForbiddenError);
      expect((error as DiditForbiddenError).detail).toBe("Session has already been imported.");
    }
  });

  it("lets another receiving application import the same source once", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    await b().importSharedSession({
      share_token: await tokenFor(sourceId, APP_B.id),
      workflow_id: APP_B.kyc,
      trust_review: true,
    });
    const copyForC = await c().importSharedSession({
      share_token: await tokenFor(sourceId, APP_C.id),
      workflow_id: APP_C.kyc,
      trust_review: false,
    });
    expect(copyForC.shared_from_session).toBe(sourceId);
  });

  it("rejects an expired token (sandbox clock advanced to exp) with 401", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const token = await tokenFor(sourceId, APP_B.id, 60);
    expect((await sandbox.control("POST", "/clock", { advance_seconds: 60 })).status).toBe(200);
    const error = await rejectionOf(
      b().importSharedSession({ share_token: token, workflow_id: APP_B.kyc, trust_review: true }),
    );
    expect(error).toBeInstanceOf(DiditAuthError);
  });

  it("rejects a tampered or malformed token with 401", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const tokenForC = await tokenFor(sourceId, APP_C.id);
    const [header, payload, signature] = tokenForC.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const readdressed = Buffer.from(JSON.stringify({ ...claims, for_application_id: APP_B.id })).toString(
      "base64url",
    );
    for (const token of [`${header}.${readdressed}.${signature}`, "not-a-jwt", `${header}.${payload}.`]) {
      const error = await rejectionOf(
        b().importSharedSession({ share_token: token, workflow_id: APP_B.kyc, trust_review: true }),
      );
      expect(error).toBeInstanceOf(DiditAuthError);
    }
  });

  it("answers 404 for a workflow the receiving application does not have", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const token = await tokenFor(sourceId, APP_B.id);
    for (const workflowId of ["99999999-9999-4999-8999-999999999999", APP_C.kyc]) {
      const error = await rejectionOf(
        b().importSharedSession({ share_token: token, workflow_id: workflowId, trust_review: true }),
      );
      expect(error).toBeInstanceOf(DiditNotFoundError);
    }
  });

  it("answers 404 when the source session was deleted", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const token = await tokenFor(sourceId, APP_B.id);
    await a().deleteSession(sourceId);
    const error = await rejectionOf(
      b().importSharedSession({ share_token: token, workflow_id: APP_B.kyc, trust_review: true }),
    );
    expect(error).toBeInstanceOf(DiditNotFoundError);
  });

  it("rejects a KYB token into a KYC workflow and a KYC token into a KYB workflow with 400 on workflow_id", async () => {
    const kybSource = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyb);
    const kycSource = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const kybShare = await a().shareSession(kybSource, { for_application_id: APP_B.id });
    expect(kybShare.session_kind).toBe("business");
    for (const [token, workflowId] of [
      [kybShare.share_token, APP_B.kyc],
      [await tokenFor(kycSource, APP_B.id), APP_B.kyb],
    ] as const) {
      const error = await rejectionOf(
        b().importSharedSession({ share_token: token, workflow_id: workflowId, trust_review: true }),
      );
      expect(error).toBeInstanceOf(DiditValidationError);
      expect(Object.keys((error as DiditValidationError).fields)).toEqual(["workflow_id"]);
    }
    const kybCopy = await b().importSharedSession({
      share_token: kybShare.share_token,
      workflow_id: APP_B.kyb,
      trust_review: true,
    });
    expect(kybCopy.session_kind).toBe("business");
  });

  it("keeps Approved and Declined with trust_review true", async () => {
    for (const status of ["Approved", "Declined"] as const) {
      const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, status);
      const copy = await b().importSharedSession({
        share_token: await tokenFor(sourceId, APP_B.id),
        workflow_id: APP_B.kyc,
        trust_review: true,
      });
      expect(copy.status).toBe(status);
      expect((await b().getDecision(copy.session_id)).status).toBe(status);
    }
  });

  it("lands in In Review with trust_review false or missing", async () => {
    const first = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Approved");
    const copy = await b().importSharedSession({
      share_token: await tokenFor(first, APP_B.id),
      workflow_id: APP_B.kyc,
      trust_review: false,
    });
    expect(copy.status).toBe("In Review");

    const second = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Approved");
    const response = await sandbox.api("POST", "/v3/session/import-shared/", {
      apiKey: APP_B.apiKey,
      body: { share_token: await tokenFor(second, APP_B.id), workflow_id: APP_B.kyc },
    });
    expect(response.status).toBe(201);
    expect((await jsonOf(response)).status).toBe("In Review");
  });

  it("gives the copy its source's results, and a later change to either leaves the other as it was", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc, "Approved");
    const copy = await b().importSharedSession({
      share_token: await tokenFor(sourceId, APP_B.id),
      workflow_id: APP_B.kyc,
      trust_review: false,
    });
    const source = await a().getDecision(sourceId);
    const imported = await b().getDecision(copy.session_id);
    expect(imported.id_verifications).toEqual(source.id_verifications);
    expect(imported.liveness_checks).toEqual(source.liveness_checks);

    // A reviewer declines the copy, and the control API rewrites the source's AML block: each
    // session's results change alone (the copy shares its source's packed results until then).
    await b().updateSessionStatus(copy.session_id, { new_status: "Declined", comment: "fraud" });
    const hits = [{ node_id: "feature_aml_1", status: "In Review", total_hits: 1, hits: [{ name: "X" }] }];
    const rewritten = await sandbox.control("POST", `/sessions/${sourceId}/complete`, {
      status: "Approved",
      decision: { aml_screenings: hits },
    });
    expect(rewritten.status).toBe(200);
    const declined = await b().getDecision(copy.session_id);
    expect(declined.status).toBe("Declined");
    expect(declined.id_verifications?.[0]?.status).toBe("Declined");
    expect(declined.aml_screenings).toEqual(imported.aml_screenings);
    const sourceAfter = await a().getDecision(sourceId);
    expect(sourceAfter.aml_screenings).toEqual(hits);
    expect(sourceAfter.id_verifications).toEqual(source.id_verifications);
  });

  it("frees the (source, receiver) pair when the imported copy is deleted", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const first = await b().importSharedSession({
      share_token: await tokenFor(sourceId, APP_B.id),
      workflow_id: APP_B.kyc,
      trust_review: true,
    });
    const fresh = await tokenFor(sourceId, APP_B.id);
    await expect(
      b().importSharedSession({ share_token: fresh, workflow_id: APP_B.kyc, trust_review: true }),
    ).rejects.toBeInstanceOf(DiditForbiddenError);
    await b().deleteSession(first.session_id);
    const again = await b().importSharedSession({
      share_token: fresh,
      workflow_id: APP_B.kyc,
      trust_review: true,
    });
    expect(again.shared_from_session).toBe(sourceId);
  });

  it("validates the body with DRF field errors", async () => {
    const response = await sandbox.api("POST", "/v3/session/import-shared/", {
      apiKey: APP_B.apiKey,
      body: { workflow_id: "nope", trust_review: "yes" },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      share_token: ["This field is required."],
      workflow_id: ["Must be a valid UUID."],
      trust_review: ["Must be a valid boolean."],
    });
  });

  it("runs its checks in the documented order", async () => {
    const sourceId = await finishedSession(sandbox, APP_A.apiKey, APP_A.kyc);
    const unknownWorkflow = "99999999-9999-4999-8999-999999999999";
    const statusOf = async (apiKey: string, body: Record<string, unknown>) =>
      (await sandbox.api("POST", "/v3/session/import-shared/", { apiKey, body })).status;

    // 1 before 2: a bad key beats a bad body.
    expect(await statusOf("wrong-key-000000", {})).toBe(401);
    // 2 before 3: a bad body beats a bad token.
    expect(await statusOf(APP_B.apiKey, { share_token: "x", workflow_id: "nope" })).toBe(400);
    // 3 before 4..8: a forged token beats everything after it.
    expect(await statusOf(APP_B.apiKey, { share_token: "x.y.z", workflow_id: unknownWorkflow })).toBe(401);
    // 4 before 6: another application's token beats an unknown workflow.
    const forC = await tokenFor(sourceId, APP_C.id);
    expect(await statusOf(APP_B.apiKey, { share_token: forC, workflow_id: unknownWorkflow })).toBe(403);
    // 6 before 7 and 8: an unknown workflow beats a kind mismatch.
    const forB = await tokenFor(sourceId, APP_B.id);
    expect(await statusOf(APP_B.apiKey, { share_token: forB, workflow_id: unknownWorkflow })).toBe(404);
    // 7 before 8: a kind mismatch beats "already imported".
    expect(
      await statusOf(APP_B.apiKey, { share_token: forB, workflow_id: APP_B.kyc, trust_review: true }),
    ).toBe(201);
    expect(await statusOf(APP_B.apiKey, { share_token: forB, workflow_id: APP_B.kyb })).toBe(400);
    expect(await statusOf(APP_B.apiKey, { share_token: forB, workflow_id: APP_B.kyc })).toBe(403);
    // 5 before 6: a deleted source beats an unknown workflow (both 404; the detail tells them apart).
    await a().deleteSession(sourceId);
    const gone = await sandbox.api("POST", "/v3/session/import-shared/", {
      apiKey: APP_C.apiKey,
      body: { share_token: forC, workflow_id: unknownWorkflow },
    });
    expect(gone.status).toBe(404);
    expect((await jsonOf(gone)).detail).toMatch(/shared session/);
  });
});
