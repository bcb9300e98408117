import { errorBodySchema, userErasedSchema } from "@share-broker/contracts";
import { DiditNotFoundError } from "@share-broker/didit";
import type { ServiceProcess } from "@share-broker/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditOf, consentFor, requestShare, shareReaches, verifiedUser } from "../support/partner-a-flow.js";
import {
  createWorld,
  eventually,
  type PartnerProcess,
  sandboxOf,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

let world: World;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;
let db: pg.Pool;

beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
  partnerA = await startWorldPartner(world, "partner-a", {
    env: {
      // Retention runs every 300 ms in batches of 2 here, so its test sees several batches and passes.
      RETENTION_INTERVAL_MS: "300",
      RETENTION_BATCH_SIZE: "2",
      WEBHOOK_EVENT_RETENTION_DAYS: "10",
      DISPATCH_LEFTOVER_RETENTION_DAYS: "2",
    },
  });
  db = new pg.Pool({ connectionString: partnerA.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await partnerA?.stop();
  await sandbox?.stop();
});

/** Every row of every table, rendered as text, where `needle` occurs: what an erasure must leave empty. */
async function rowsHolding(needle: string): Promise<string[]> {
  const { rows: tables } = await db.query<{ table_name: string }>(
    "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
  );
  expect(tables.map((table) => table.table_name)).toEqual(
    expect.arrayContaining(["consents", "shares", "verification_sessions", "webhook_events", "audit_events"]),
  );
  const found: string[] = [];
  for (const { table_name } of tables) {
    const { rows } = await db.query<{ row: string }>(`select t::text as row from "${table_name}" t`);
    found.push(...rows.filter((row) => row.row.includes(needle)).map((row) => `${table_name}: ${row.row}`));
  }
  return found;
}

async function erase(userId: string) {
  const response = await partnerA.call("DELETE", `/v1/users/${encodeURIComponent(userId)}`);
  return { status: response.status, body: (await response.json()) as unknown };
}

async function errorCode(response: Response) {
  return errorBodySchema.parse(await response.json()).error.code;
}

describe("DELETE /v1/users/{user_id}", () => {
  it("withdraws the user's consents, deletes their Didit sessions and leaves no trace of the user id", async () => {
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId, { evidence: { signed_by: userId, method: "web" } });
    // The idempotency key is the client's text: it may name the user.
    const shared = await partnerA.call(
      "POST",
      "/v1/shares",
      { consent_id: consentId },
      { "idempotency-key": `share-of-${userId}` },
    );
    expect(shared.status).toBe(202);
    const { share_id: sharedId } = (await shared.json()) as { share_id: string };
    const otherConsentId = await consentFor(partnerA, userId, { scope: "kyc+aml" });
    await shareReaches(partnerA, sharedId, "sent");
    // A second session, left unfinished: every session of the user goes, not only the latest.
    const reauth = await partnerA.call("POST", "/v1/verifications", { user_id: userId, kind: "reauth" });
    expect(reauth.status).toBe(201);
    const { session_id: reauthSession } = (await reauth.json()) as { session_id: string };
    expect((await rowsHolding(userId)).length).toBeGreaterThan(0);
    const didit = sandboxOf(world).client("partner-a");
    const before = await didit.listSessions({ vendor_data: userId });
    expect(before.results).toHaveLength(2);

    const { status, body } = await erase(userId);
    expect(status).toBe(200);
    const erased = userErasedSchema.parse(body);
    expect(erased.withdrawn_consent_ids.sort()).toEqual([consentId, otherConsentId].sort());
    expect(erased.deleted_sessions.sort()).toEqual(
      before.results.map((session) => session.session_id).sort(),
    );
    expect(erased.deleted_sessions).toContain(reauthSession);
    expect(erased.anonymised).toEqual({ consents: 2, shares: 1, verification_sessions: 2 });
    expect(JSON.stringify(body)).not.toContain(userId);

    // Didit no longer has the sessions.
    expect((await didit.listSessions({ vendor_data: userId })).results).toEqual([]);
    for (const sessionId of erased.deleted_sessions) {
      await expect(didit.getDecision(sessionId)).rejects.toBeInstanceOf(DiditNotFoundError);
    }
    // The consents are withdrawn and hold neither the user id nor the evidence.
    const consent = (await (await partnerA.call("GET", `/v1/consents/${consentId}`)).json()) as Record<
      string,
      unknown
    >;
    expect(consent).toMatchObject({ user_id: "", evidence: {} });
    expect(consent.withdrawn_at).not.toBeNull();
    // Nothing in any table holds the user id any more.
    expect(await rowsHolding(userId)).toEqual([]);
    expect(await rowsHolding(`share-of-${userId}`)).toEqual([]);

    const verification = await partnerA.call("GET", `/v1/users/${userId}/verification`);
    expect(verification.status).toBe(404);
    expect(await errorCode(verification)).toBe("verification_not_found");
    const shares = (await (await partnerA.call("GET", `/v1/shares?user_id=${userId}`)).json()) as {
      shares: unknown[];
    };
    expect(shares.shares).toEqual([]);

    // The audit trail stays, under the pseudonym only.
    const events = await auditOf(partnerA, `user_id=${userId}`);
    expect(events.map((event) => event.action)).toEqual(
      expect.arrayContaining(["verification.created", "consent.withdrawn", "user.erased"]),
    );
    expect(events.every((event) => event.user_pseudonym === erased.user_pseudonym)).toBe(true);
    expect(JSON.stringify(events)).not.toContain(userId);
    const [erasure] = events.filter((event) => event.action === "user.erased");
    expect(erasure).toMatchObject({ outcome: "erased", details: { withdrawn_consents: 2 } });

    // Erasing again finds nothing to erase.
    const again = await erase(userId);
    expect(again.status).toBe(404);
    expect(errorBodySchema.parse(again.body).error.code).toBe("user_not_found");
    expect(
      (await auditOf(partnerA, `user_id=${userId}`)).filter((e) => e.action === "user.erased"),
    ).toHaveLength(1);
  });

  it("erases a user whose session Didit already forgot (404 counts as deleted)", async () => {
    const userId = await verifiedUser(world, partnerA);
    const didit = sandboxOf(world).client("partner-a");
    const [session] = (await didit.listSessions({ vendor_data: userId })).results;
    if (!session) throw new Error("no session");
    await didit.deleteSession(session.session_id);

    const { status, body } = await erase(userId);
    expect(status).toBe(200);
    expect(userErasedSchema.parse(body).deleted_sessions).toEqual([session.session_id]);
    expect(await rowsHolding(userId)).toEqual([]);
  });

  it("answers 503 didit_unavailable during a Didit outage and changes nothing; the retry erases", async () => {
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId);
    const { control } = sandboxOf(world);
    const fault = await control<{ fault_id: string }>("POST", "/sandbox/faults", {
      method: "DELETE",
      path: "/v3/session/*/delete/",
      status: 503,
    });
    expect(fault.status).toBe(201);

    const failed = await erase(userId);
    expect(failed.status).toBe(503);
    expect(errorBodySchema.parse(failed.body).error.code).toBe("didit_unavailable");
    const consent = (await (await partnerA.call("GET", `/v1/consents/${consentId}`)).json()) as Record<
      string,
      unknown
    >;
    expect(consent).toMatchObject({ user_id: userId, withdrawn_at: null });
    expect((await partnerA.call("GET", `/v1/users/${userId}/verification`)).status).toBe(200);
    expect(
      (await auditOf(partnerA, `user_id=${userId}`)).filter((event) => event.action === "user.erased"),
    ).toEqual([]);
    expect(partnerA.output()).not.toContain(userId);

    expect((await control("DELETE", `/sandbox/faults/${fault.body.fault_id}`)).status).toBe(204);
    const retried = await erase(userId);
    expect(retried.status).toBe(200);
    expect(userErasedSchema.parse(retried.body).withdrawn_consent_ids).toEqual([consentId]);
    expect(await rowsHolding(userId)).toEqual([]);
  });

  it("answers 502 didit_rejected when Didit refuses to list the user's sessions, and changes nothing", async () => {
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId);
    const { control } = sandboxOf(world);
    const fault = await control<{ fault_id: string }>("POST", "/sandbox/faults", {
      method: "GET",
      path: "/v3/sessions/",
      status: 400,
      times: 1,
    });
    expect(fault.status).toBe(201);
    const failed = await erase(userId);
    expect(failed.status).toBe(502);
    expect(errorBodySchema.parse(failed.body).error.code).toBe("didit_rejected");
    const consent = (await (await partnerA.call("GET", `/v1/consents/${consentId}`)).json()) as Record<
      string,
      unknown
    >;
    expect(consent).toMatchObject({ user_id: userId, withdrawn_at: null });
    expect((await sandboxOf(world).client("partner-a").listSessions({ vendor_data: userId })).count).toBe(1);
  });

  it("refuses an unknown user with 404 user_not_found and a malformed id with 400", async () => {
    const unknown = await erase("user-never-seen-here");
    expect(unknown.status).toBe(404);
    expect(errorBodySchema.parse(unknown.body).error.code).toBe("user_not_found");
    const tooLong = await erase("x".repeat(257));
    expect(tooLong.status).toBe(400);
    expect(errorBodySchema.parse(tooLong.body).error.code).toBe("validation_failed");
    const unauthenticated = await fetch(`${partnerA.url}/v1/users/someone`, { method: "DELETE" });
    expect(unauthenticated.status).toBe(401);
  });

  it("cancels a share not sent yet, and an erased user's consent refuses new shares", async () => {
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId);
    const shareId = await requestShare(partnerA, consentId);
    expect((await erase(userId)).status).toBe(200);
    const share = (await (await partnerA.call("GET", `/v1/shares/${shareId}`)).json()) as Record<
      string,
      unknown
    >;
    // Not sent yet: cancelled; already sent (its token left): revoked at partner-b.
    expect(["cancelled", "revoked", "failed"]).toContain(share.status);
    expect(share.user_id).toBe("");
    const refused = await partnerA.call("POST", "/v1/shares", { consent_id: consentId });
    expect(refused.status).toBe(409);
    expect(await errorCode(refused)).toBe("consent_withdrawn");
  });
});

describe("retention at partner-a", () => {
  it("deletes webhook events and finished outbox rows older than their days, in batches, and nothing younger", async () => {
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    const old = Array.from({ length: 5 }, (_, index) => `evt-old-${index}-${Date.now()}`);
    const young = [`evt-young-${Date.now()}`];
    await db.query(
      "insert into webhook_events (event_id, webhook_type, applied, received_at) select unnest($1::text[]), 'status.updated', 'applied', $2",
      [old, daysAgo(11)],
    );
    await db.query(
      "insert into webhook_events (event_id, webhook_type, applied, received_at) values ($1, 'status.updated', 'applied', $2)",
      [young[0], daysAgo(9)],
    );
    // Outbox rows: one whose share is gone (3 days old: deleted), one as old whose share is open (kept),
    // one young leftover (kept).
    const userId = await verifiedUser(world, partnerA);
    const consentId = await consentFor(partnerA, userId);
    const openShare = await requestShare(partnerA, consentId);
    await shareReaches(partnerA, openShare, "sent");
    const leftover = crypto.randomUUID();
    const youngLeftover = crypto.randomUUID();
    // Due tomorrow: the dispatcher leaves them alone, only retention may delete them.
    await db.query(
      "insert into share_dispatches (share_id, created_at, due_at) values ($1, $2, $6), ($3, $4, $6), ($5, $2, $6)",
      [leftover, daysAgo(3), youngLeftover, daysAgo(1), openShare, daysAgo(-1)],
    );

    await eventually(
      async () => {
        const { rows } = await db.query<{ event_id: string }>(
          "select event_id from webhook_events where event_id = any($1)",
          [[...old, ...young]],
        );
        const { rows: dispatches } = await db.query<{ share_id: string }>(
          "select share_id from share_dispatches where share_id = any($1)",
          [[leftover, youngLeftover, openShare]],
        );
        return rows.length === 1 && dispatches.length === 2 ? { rows, dispatches } : undefined;
      },
      15_000,
      "retention of old rows",
    ).then(({ rows, dispatches }) => {
      expect(rows.map((row) => row.event_id)).toEqual(young);
      expect(dispatches.map((row) => row.share_id).sort()).toEqual([youngLeftover, openShare].sort());
    });
    // Logged with counts, per rule.
    // The pass logs right after its delete commits: the line may trail the rows by a moment.
    await eventually(
      async () => (/"rule":"webhook_events","deleted":\d+/.test(partnerA.output()) ? true : undefined),
      10_000,
      "the retention log line for webhook_events",
    );
    await eventually(
      async () => (/"rule":"share_dispatches","deleted":1/.test(partnerA.output()) ? true : undefined),
      10_000,
      "the retention log line for share_dispatches",
    );
  });
});
