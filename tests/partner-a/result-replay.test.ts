import { randomUUID } from "node:crypto";
import { type ChannelProducer, createChannelProducer, type ImportResultPayload } from "@share-broker/channel";
import { metricValue, type ServiceProcess, testRedisUrl } from "@share-broker/testing";
import { Redis } from "ioredis";
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
  actAs,
  createWorld,
  eventually,
  type PartnerProcess,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

// Anyone who can read partner-a's results queue in Redis holds partner-b's sealed results (completed
// jobs stay there for a day) and can add them again. Each result carries its per-import sequence;
// partner-a must refuse one whose sequence is not above the last it applied, so an older result
// cannot roll the share back (Approved → In Review) and none applies twice. The refusal completes
// the job (no retries), and is audited, logged and counted.

const METRIC = "share_broker_results_refused_total";

let world: World;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;
let redis: Redis;
let results: ChannelProducer;

beforeAll(async () => {
  world = await createWorld();
  sandbox = await startSandbox(world);
  partnerA = await startWorldPartner(world, "partner-a");
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  // partner-a's results queue, reached as partner-b's result sender reaches it.
  results = createChannelProducer({
    connection: redis,
    queueName: "results-partner-a",
    prefix: world.prefix,
  });
});
afterAll(async () => {
  await results?.close();
  await redis?.quit();
  await partnerA?.stop();
  await sandbox?.stop();
});

async function refusedCount(): Promise<number | undefined> {
  const response = await fetch(`${partnerA.opsUrl}/metrics`);
  expect(response.status).toBe(200);
  return metricValue(await response.text(), METRIC, { reason: "replayed", service: "partner-a" });
}

async function jobCompletes(jobId: string) {
  return eventually(
    async () => {
      const job = await results.queue.getJob(jobId);
      const state = await job?.getState();
      if (state === "failed") expect.fail(`job ${jobId} failed: ${job?.failedReason}`);
      return state === "completed" ? job : undefined;
    },
    10_000,
    `job ${jobId} completing`,
  );
}

function refusalLines() {
  return partnerA.stdout
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.msg === "import result refused");
}

it("refuses an older result replayed from Redis and a repeat of the newest: the share stays, the jobs complete, each refusal is audited, logged and counted", async () => {
  expect(await refusedCount()).toBe(0);
  const userId = await verifiedUser(world, partnerA);
  const shareId = await requestShare(partnerA, await consentFor(partnerA, userId));
  await shareReaches(partnerA, shareId, "sent");
  const asB = await actAs(world, "partner-b");
  const importId = randomUUID();
  const sealed = (jti: string, payload: Omit<ImportResultPayload, "share_id" | "import_id" | "at">) =>
    asB.sealer.seal({
      to: "partner-a",
      typ: "import-result",
      jti,
      expiresAt: new Date(Date.now() + 3_600_000),
      payload: { share_id: shareId, import_id: importId, at: new Date().toISOString(), ...payload },
    });

  // partner-b's two results for the import, as its sender queues them: the outcome (under review),
  // then the review's decision.
  const inReview = await sealed(shareId, { outcome: "imported", sequence: 1, session_status: "In Review" });
  expect(await results.send(shareId, inReview)).toEqual({ added: true });
  await jobCompletes(shareId);
  expect((await shareReaches(partnerA, shareId, "imported")).import?.session_status).toBe("In Review");
  const approved = await sealed(`${shareId}-1`, {
    outcome: "imported",
    sequence: 2,
    session_status: "Approved",
  });
  expect(await results.send(`${shareId}-1`, approved)).toEqual({ added: true });
  await jobCompletes(`${shareId}-1`);
  const applied = await shareOf(partnerA, shareId);
  expect(applied.import).toMatchObject({ status: "imported", session_status: "Approved" });

  // The older result, taken from the completed job Redis still holds, added again under a new id.
  const captured = (await results.queue.getJob(shareId))?.data.envelope;
  expect(captured).toBe(inReview);
  expect(await results.send(`${shareId}-replayed`, captured as string)).toEqual({ added: true });
  const replayedJob = await jobCompletes(`${shareId}-replayed`);
  expect(replayedJob?.attemptsMade).toBe(1);
  // The newest result again: identical, so it says what is recorded, and still it is not applied twice.
  expect(await results.send(`${shareId}-repeated`, approved)).toEqual({ added: true });
  await jobCompletes(`${shareId}-repeated`);

  expect(await shareOf(partnerA, shareId)).toEqual(applied);
  const events = await auditOf(partnerA, `share_id=${shareId}`);
  expect(events.filter((event) => event.action === "share.result")).toHaveLength(2);
  expect(
    events.filter((event) => event.action === "share.result_replayed").map((event) => event.details),
  ).toEqual(
    expect.arrayContaining([
      { received_sequence: 1, recorded_sequence: 2, session_status: "In Review" },
      { received_sequence: 2, recorded_sequence: 2, session_status: "Approved" },
    ]),
  );
  expect(events.filter((event) => event.action === "share.result_replayed")).toHaveLength(2);

  expect(await refusedCount()).toBe(2);
  const lines = refusalLines();
  expect(lines.map((line) => [line.level, line.reason, line.share_id, line.sequence])).toEqual([
    ["warn", "replayed", shareId, 1],
    ["warn", "replayed", shareId, 2],
  ]);
  expect(partnerA.stdout.join("\n")).not.toContain(userId);
});
