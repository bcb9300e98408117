import { randomUUID } from "node:crypto";
import { metricValue, type ServiceProcess } from "@share-broker/testing";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  auditOf,
  consentFor,
  requestShare,
  shareOf,
  shareReaches,
  verifiedUser,
} from "../support/partner-a-flow.js";
import {
  createWorld,
  eventually,
  type PartnerProcess,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

// partner-a accepts the share requests that arrive together in one statement (accept_share). When
// that statement fails, each request must still be answered by its own transaction, and the failure
// must be seen: a warning in the service's log naming the batch, and the counter on its GET /metrics.
// The batch here fails for real: two requests with one Idempotency-Key land in the same statement,
// whose unique violation names the key in its detail; the key must not reach the log.

const METRIC = "share_broker_batch_fallbacks_total";

let world: World;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;

beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
  // A short lease, so a share whose dispatch could not even be rescheduled is claimed again soon.
  partnerA = await startWorldPartner(world, "partner-a", { env: { DISPATCH_LEASE_SECONDS: "2" } });
});
afterAll(async () => {
  await partnerA?.stop();
  await sandbox?.stop();
});

async function fallbacksCounted(batch: string): Promise<number | undefined> {
  const response = await fetch(`${partnerA.opsUrl}/metrics`);
  expect(response.status).toBe(200);
  return metricValue(await response.text(), METRIC, { batch, service: "partner-a" });
}

/** Sessions of partner-a's database waiting for a lock, i.e. its statements stuck behind `holder`. */
async function waitingOnLocks(holder: pg.Client): Promise<number> {
  const { rows } = await holder.query(
    `select count(*)::int as n from pg_stat_activity
     where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
  );
  return rows[0].n;
}

function warningsOf(batch: string) {
  return partnerA.stdout
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.level === "warn" && entry.batch === batch);
}

it("answers every request of a failed accept batch through its own transaction, counted on /metrics and logged without the key", async () => {
  expect(await fallbacksCounted("accept_share")).toBe(0);
  expect(await fallbacksCounted("apply_import_result")).toBe(0);
  const [plugUser, racedUser] = await Promise.all([
    verifiedUser(world, partnerA),
    verifiedUser(world, partnerA),
  ]);
  const plugConsent = await consentFor(partnerA, plugUser as string);
  const racedConsent = await consentFor(partnerA, racedUser as string);
  const key = `idem-${randomUUID()}`;

  // Both statements partner-a keeps in flight wait for a lock this test holds on the plug's consent,
  // so the two raced requests queue behind them and go together in the next statement.
  const holder = new pg.Client({ connectionString: partnerA.databaseUrl });
  await holder.connect();
  let responses: Response[];
  try {
    await holder.query("begin");
    await holder.query("select 1 from consents where consent_id = $1 for update", [plugConsent]);
    const plugs = [1, 2].map(() => partnerA.call("POST", "/v1/shares", { consent_id: plugConsent }));
    await eventually(
      async () => ((await waitingOnLocks(holder)) >= 2 ? true : undefined),
      10_000,
      "both plugs",
    );
    const raced = [1, 2].map(() =>
      partnerA.call("POST", "/v1/shares", { consent_id: racedConsent }, { "idempotency-key": key }),
    );
    // The raced requests read no share for their key (one quick select), then wait for the next
    // statement; nothing outside shows that, so they get ample time, which costs only the wait.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await holder.query("commit");
    responses = await Promise.all([...plugs, ...raced]);
  } finally {
    await holder.end();
  }

  const bodies = (await Promise.all(responses.map((response) => response.json()))) as Array<{
    share_id: string;
  }>;
  expect(
    responses.map((response) => response.status),
    JSON.stringify(bodies),
  ).toEqual([202, 202, 202, 202]);
  const [plugA, plugB, racedA, racedB] = bodies.map((body) => body.share_id);
  // Nothing lost: each plug has its share, and the raced requests one share between them.
  expect(new Set([plugA, plugB, racedA]).size).toBe(3);
  expect(racedB).toBe(racedA);
  for (const shareId of [plugA, plugB, racedA]) {
    const accepted = (await auditOf(partnerA, `share_id=${shareId}`)).filter(
      (event) => event.action === "share.accepted",
    );
    expect(accepted).toHaveLength(1);
  }

  // Seen: the counter on the service's own /metrics, and one warning that names the batch and the
  // SQLSTATE of the unique violation, but not the key its detail quoted.
  expect(await fallbacksCounted("accept_share")).toBe(1);
  expect(await fallbacksCounted("apply_import_result")).toBe(0);
  expect(warningsOf("accept_share")).toEqual([
    expect.objectContaining({
      service: "partner-a",
      msg: "batch statement failed; its items fell back",
      items: 2,
      code: "23505",
      sqlstate_class: "integrity_constraint_violation",
      constraint: "shares_idempotency_key_idx",
    }),
  ]);
  expect(partnerA.output()).not.toContain(key);
  for (const userId of [plugUser, racedUser]) {
    expect(JSON.stringify(warningsOf("accept_share"))).not.toContain(userId);
  }
});

it("leaves a share leased when its dispatch and its reschedule both fail, counts and logs that, and sends it once the lease lapses", async () => {
  const user = (await verifiedUser(world, partnerA)) as string;
  const consent = await consentFor(partnerA, user);
  const db = new pg.Client({ connectionString: partnerA.databaseUrl });
  await db.connect();
  try {
    // The database refuses both the mint's record (the dispatch fails) and the reschedule after it
    // (which sets last_error), as a broken or read-only primary would; the lease claim still works.
    await db.query(`
      create function refuse_dispatch() returns trigger language plpgsql as $$
        begin raise exception 'injected: dispatch refused'; end $$;
      create trigger refuse_mint before update on shares
        for each row when (new.status = 'minted') execute function refuse_dispatch();
      create trigger refuse_reschedule before update on share_dispatches
        for each row when (new.last_error is not null) execute function refuse_dispatch();`);
    const before = (await fallbacksCounted("dispatch_reschedule")) ?? 0;
    const shareId = await requestShare(partnerA, consent);
    await eventually(
      async () => ((await fallbacksCounted("dispatch_reschedule")) ?? 0) > before || undefined,
      10_000,
      "the failed reschedule counted",
    );
    expect(warningsOf("dispatch_reschedule")[0]).toEqual(
      expect.objectContaining({
        service: "partner-a",
        msg: "batch statement failed; its items fell back",
        items: 1,
        code: "P0001",
      }),
    );
    expect((await shareOf(partnerA, shareId)).status).toBe("accepted");
    const { rows } = await db.query(
      "select leased_until > now() as leased from share_dispatches where share_id = $1",
      [shareId],
    );
    expect(rows).toEqual([{ leased: true }]);

    // Replacing the function heals both triggers without a table lock: dropping them would take
    // ACCESS EXCLUSIVE on two tables the running dispatcher locks in the other order (a deadlock).
    await db.query(`
      create or replace function refuse_dispatch() returns trigger language plpgsql as $$
        begin return new; end $$;`);
    await shareReaches(partnerA, shareId, "sent", 15_000);
    expect(partnerA.output()).not.toContain(user);
  } finally {
    // The cascade drops both triggers (a table lock each); the dispatcher is idle by now, but a
    // deadlock against its poll is retried (eventually retries on any error, then names the last).
    await eventually(
      () => db.query("drop function if exists refuse_dispatch() cascade").then(() => true),
      10_000,
      "the injected triggers dropped",
    );
    await db.end();
  }
});
