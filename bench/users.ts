import { MAX_LINK_REQUEST_SECONDS } from "@share-broker/contracts";
import type pg from "pg";
import { Pseudonymizer } from "../services/partner-a/src/audit/pseudonym.js";
import { linkCodeHash, newLinkCode } from "../services/partner-b/src/links/link-codes.js";
import type { JsonClient } from "./http.js";
import { forEachConcurrently, say, waitForProgress } from "./progress.js";
import { apps, PSEUDONYM_SECRET } from "./world.js";

/** A user of partner-a whose latest Didit session is Approved, with a consent to share with partner-b. */
export interface ShareableUser {
  userId: string;
  consentId: string;
}

export interface UserFactory {
  sandboxControl: JsonClient;
  /** The sandbox's Didit API as partner-a's application. */
  sandboxAsA: JsonClient;
  dbA: pg.Pool;
  /** partner-b's database, where each user's link request is issued. */
  dbB: pg.Pool;
}

const CHUNK = 500;
const pseudonyms = new Pseudonymizer(PSEUDONYM_SECRET);

/**
 * Creates `count` users that partner-a can share, in bulk, before any timing: for each, a session of
 * partner-a's first-verification workflow at the sandbox, partner-a's record of it (the row
 * POST /v1/verifications writes), the session finished as Approved through the control API (the
 * sandbox's signed webhook reaches partner-a, which applies it as for a real user), a link request
 * at partner-b for a user of its own (the row POST /v1/link-requests writes: the code's hash, valid
 * the longest a code may be, 30 minutes) and a consent to share with partner-b carrying its code.
 *
 * Why not POST /v1/verifications and POST /v1/consents: the sandbox's reuse rule for `vendor_data`
 * lists and sorts every session of the application on each create (services/didit-sandbox/src/routes/
 * sessions.ts), so tens of thousands of users would take hours; and set-up is not what is measured.
 * Each share needs its own user: Didit imports a session into an application once.
 */
export async function createShareableUsers(
  factory: UserFactory,
  label: string,
  count: number,
  concurrency: number,
  stallMs: number,
): Promise<{ users: ShareableUser[]; seconds: number }> {
  const started = Date.now();
  const prefix = `bench-${label}-`;
  const users: ShareableUser[] = [];
  let reported = Date.now();
  for (let from = 0; from < count; from += CHUNK) {
    const size = Math.min(CHUNK, count - from);
    const userIds = Array.from({ length: size }, (_, index) => `${prefix}${from + index}`);
    const sessionIds = new Array<string>(size);
    await forEachConcurrently(size, concurrency, async (index) => {
      const created = await factory.sandboxAsA.call("POST", "/v3/session/", {
        workflow_id: apps["partner-a"].kyc,
      });
      if (created.status !== 201)
        throw new Error(`creating a session: ${created.status} ${JSON.stringify(created.body)}`);
      sessionIds[index] = created.body.session_id as string;
    });
    await factory.dbA.query(
      `insert into verification_sessions (session_id, user_id, kind, workflow_id, status, status_at)
       select s, u, 'first', $3, 'Not Started', to_timestamp(0)
         from unnest($1::uuid[], $2::text[]) as t(s, u)`,
      [sessionIds, userIds, apps["partner-a"].kyc],
    );
    await forEachConcurrently(size, concurrency, async (index) => {
      const done = await factory.sandboxControl.call(
        "POST",
        `/sandbox/sessions/${sessionIds[index]}/complete`,
        {
          status: "Approved",
        },
      );
      if (done.status !== 200)
        throw new Error(`completing a session: ${done.status} ${JSON.stringify(done.body)}`);
    });
    const linkCodes = userIds.map(() => newLinkCode());
    await factory.dbB.query(
      `insert into link_requests (link_id, user_ref, source, code_hash, expires_at)
       select gen_random_uuid(), 'b-' || u, 'partner-a', h, now() + make_interval(secs => $3)
         from unnest($1::text[], $2::text[]) as t(u, h)`,
      [userIds, linkCodes.map(linkCodeHash), MAX_LINK_REQUEST_SECONDS],
    );
    const { rows } = await factory.dbA.query<{ consent_id: string; user_id: string }>(
      `insert into consents (consent_id, user_id, user_pseudonym, audience, purpose, scope, evidence,
                             link_code, expires_at)
       select gen_random_uuid(), u, p, 'partner-b', 'onboarding', 'kyc',
              '{"method": "checkbox", "text_version": "bench-1"}'::jsonb, c, now() + interval '30 days'
         from unnest($1::text[], $2::text[], $3::text[]) as t(u, p, c)
       returning consent_id, user_id`,
      // As POST /v1/consents keeps it: partner-a's accept path needs the pseudonym on the consent.
      [userIds, userIds.map((userId) => pseudonyms.of(userId)), linkCodes],
    );
    const byUser = new Map(rows.map((row) => [row.user_id, row.consent_id]));
    for (const userId of userIds) users.push({ userId, consentId: byUser.get(userId) as string });
    if (Date.now() - reported > 5_000) {
      reported = Date.now();
      const rate = users.length / ((Date.now() - started) / 1000);
      say(`users ${label}: ${users.length}/${count} (${rate.toFixed(0)}/s)`);
    }
  }
  await waitForProgress(
    `users ${label}: webhooks applied at partner-a`,
    count,
    async () => {
      const { rows } = await factory.dbA.query<{ n: string }>(
        "select count(*) as n from verification_sessions where user_id like $1 and status = 'Approved'",
        [`${prefix}%`],
      );
      return { done: Number(rows[0]?.n ?? 0) };
    },
    stallMs,
  );
  const seconds = (Date.now() - started) / 1000;
  say(`users ${label}: ${count} ready in ${seconds.toFixed(1)} s (${(count / seconds).toFixed(0)}/s)`);
  return { users, seconds };
}
