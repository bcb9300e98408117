import { Redis } from "ioredis";
import type pg from "pg";
import { type Offer, offerAsFastAsAccepted, offerPaced } from "./load.js";
import {
  type Correctness,
  checkOutcomes,
  collectOutcomes,
  type ShareOutcome,
  waitForTerminal,
} from "./outcomes.js";
import type { ProductStack } from "./product.js";
import { say } from "./progress.js";
import {
  type Bucket,
  countPerSecond,
  type Histogram,
  histogram,
  maxOf,
  minOf,
  perSecond,
  type Summary,
  summarize,
} from "./stats.js";
import type { ShareableUser } from "./users.js";
import { type BenchWorld, REDIS_URL } from "./world.js";

export interface ProductRun {
  label: string;
  shares: number;
  /** "as fast as accepted (N in flight)" or "paced at R/s". */
  offered: string;
  firstSentAt: number;
  firstAcceptAt: number;
  lastAcceptAt: number;
  lastAppliedAt: number;
  /** First accept to last result applied at partner-a. */
  seconds: number;
  sharesPerSecond: number;
  acceptsPerSecond: number;
  /** partner-a's answer time to POST /v1/shares. */
  acceptLatency: Summary;
  acceptToImport: Summary;
  acceptToApplied: Summary;
  correctness: Correctness;
  /**
   * Where the time between accept and result goes, from the partners' own timestamps: accept → offer
   * queued at A (dispatch: claim, mint at Didit, seal, enqueue), → receipt at B (queue hop, open),
   * → import decided at B (claim, import-shared at Didit), → result applied at A (result outbox,
   * seal, queue hop, open, apply).
   */
  stages: Record<"dispatch" | "toReceipt" | "import" | "result", Summary>;
  /** Source sessions shared in the run (for the final Didit-side check). */
  sourceSessions: string[];
  charts: {
    acceptsPerSecond: number[];
    appliedPerSecond: number[];
    importBuckets: Bucket[];
    appliedBuckets: Bucket[];
    importHistogram: Histogram;
    appliedHistogram: Histogram;
  };
}

function measure(label: string, offered: string, offers: Offer[], outcomes: ShareOutcome[]): ProductRun {
  const correctness = checkOutcomes(offers, outcomes);
  const good = outcomes.filter(
    (outcome) =>
      outcome.decidedAtB !== null && outcome.receivedAtB !== null && !Number.isNaN(outcome.appliedAtA),
  );
  const accepts = offers.filter((offer) => offer.status === 202).map((offer) => offer.answeredAt);
  const firstAcceptAt = minOf(accepts);
  const lastAppliedAt = maxOf(good.map((outcome) => outcome.appliedAtA));
  const seconds = (lastAppliedAt - firstAcceptAt) / 1000;
  const toImport = good.map((outcome) => ({
    at: outcome.acceptedAt,
    value: (outcome.decidedAtB as number) - outcome.acceptedAt,
  }));
  const toApplied = good.map((outcome) => ({
    at: outcome.acceptedAt,
    value: outcome.appliedAtA - outcome.acceptedAt,
  }));
  return {
    label,
    shares: outcomes.length,
    offered,
    firstSentAt: minOf(offers.map((offer) => offer.sentAt)),
    firstAcceptAt,
    lastAcceptAt: maxOf(accepts),
    lastAppliedAt,
    seconds,
    sharesPerSecond: outcomes.length / seconds,
    acceptsPerSecond: accepts.length / ((maxOf(accepts) - firstAcceptAt) / 1000 || 1),
    acceptLatency: summarize(offers.map((offer) => offer.answeredAt - offer.sentAt)),
    acceptToImport: summarize(toImport.map((point) => point.value)),
    acceptToApplied: summarize(toApplied.map((point) => point.value)),
    correctness,
    stages: {
      dispatch: summarize(good.map((outcome) => outcome.sentAtA - outcome.acceptedAt)),
      toReceipt: summarize(good.map((outcome) => (outcome.receivedAtB as number) - outcome.sentAtA)),
      import: summarize(
        good.map((outcome) => (outcome.decidedAtB as number) - (outcome.receivedAtB as number)),
      ),
      result: summarize(good.map((outcome) => outcome.appliedAtA - (outcome.decidedAtB as number))),
    },
    sourceSessions: outcomes.map((outcome) => outcome.sessionId),
    charts: {
      acceptsPerSecond: countPerSecond(accepts, firstAcceptAt),
      appliedPerSecond: countPerSecond(
        good.map((outcome) => outcome.appliedAtA),
        firstAcceptAt,
      ),
      importBuckets: perSecond(toImport, firstAcceptAt),
      appliedBuckets: perSecond(toApplied, firstAcceptAt),
      importHistogram: histogram(toImport.map((point) => point.value)),
      appliedHistogram: histogram(toApplied.map((point) => point.value)),
    },
  };
}

async function settle(
  stack: ProductStack,
  label: string,
  offered: string,
  offers: Offer[],
  stallMs: number,
): Promise<ProductRun> {
  const ids = offers.flatMap((offer) => (offer.shareId ? [offer.shareId] : []));
  await waitForTerminal(stack.dbA, ids, `${label}: results applied at partner-a`, stallMs);
  const outcomes = await collectOutcomes(stack.dbA, stack.dbB, offers);
  const run = measure(label, offered, offers, outcomes);
  say(
    `${label}: ${run.shares} shares in ${run.seconds.toFixed(1)} s = ${run.sharesPerSecond.toFixed(0)}/s, ` +
      `p99 accept→import ${run.acceptToImport.p99.toFixed(0)} ms, ${run.correctness.ok ? "all imported once" : "PROBLEMS"}`,
  );
  return run;
}

/** Max throughput: one share per user, offered as fast as partner-a accepts them. */
export async function runMaxThroughput(
  stack: ProductStack,
  label: string,
  users: readonly ShareableUser[],
  concurrency: number,
  stallMs: number,
): Promise<ProductRun> {
  say(`${label}: offering ${users.length} shares, ${concurrency} in flight`);
  const offers = await offerAsFastAsAccepted(stack.partnerA, users, concurrency);
  return settle(stack, label, `as fast as accepted (${concurrency} in flight)`, offers, stallMs);
}

/** Latency at a fixed offered rate. */
export async function runPaced(
  stack: ProductStack,
  label: string,
  users: readonly ShareableUser[],
  perSecond: number,
  stallMs: number,
): Promise<ProductRun & { maxLatenessMs: number }> {
  say(`${label}: offering ${users.length} shares at ${perSecond.toFixed(1)}/s`);
  const { offers, maxLatenessMs } = await offerPaced(stack.partnerA, users, perSecond);
  const run = await settle(stack, label, `paced at ${perSecond.toFixed(1)}/s`, offers, stallMs);
  return { ...run, maxLatenessMs };
}

export interface BacklogRun {
  shares: number;
  /** Offering the backlog with partner-b stopped: accepted, minted and sent by partner-a. */
  acceptSeconds: number;
  sentSeconds: number;
  redis: {
    usedMemoryBefore: number;
    usedMemoryAfter: number;
    /** (used_memory after − before) / shares: the instance-wide view (other Redis users add noise). */
    bytesPerShare: number;
    /** MEMORY USAGE of this world's own keys, after − before, per share: the exact view. */
    ownKeysBytesBefore: number;
    ownKeysBytesAfter: number;
    ownBytesPerShare: number;
    inboxWaiting: number;
    /** Length of one sealed share offer as queued. */
    envelopeBytes: number;
  };
  /** From partner-b's start (spawn) and from its readiness, to the last result applied at partner-a. */
  drainFromStartSeconds: number;
  drainFromReadySeconds: number;
  drainPerSecond: number;
  run: ProductRun;
}

async function redisMemory(redis: Redis, prefix: string): Promise<{ used: number; own: number }> {
  const info = await redis.info("memory");
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
  let own = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) {
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.memory("USAGE", key, "SAMPLES", "0");
      for (const [, bytes] of (await pipeline.exec()) ?? []) own += Number(bytes ?? 0);
    }
  } while (cursor !== "0");
  return { used, own };
}

/**
 * Stops partner-b, offers `users.length` shares (partner-a mints and queues them), measures what the
 * queued offers cost Redis, then starts partner-b and times the drain.
 */
export async function runBacklog(
  stack: ProductStack,
  world: BenchWorld,
  users: readonly ShareableUser[],
  concurrency: number,
  stallMs: number,
): Promise<BacklogRun> {
  const redis = new Redis(REDIS_URL);
  try {
    say(`backlog: stopping partner-b`);
    await stack.stopPartnerB();
    const before = await redisMemory(redis, world.prefix);
    say(`backlog: offering ${users.length} shares while partner-b is stopped`);
    const started = Date.now();
    const offers = await offerAsFastAsAccepted(stack.partnerA, users, concurrency);
    const acceptSeconds = (Date.now() - started) / 1000;
    const ids = offers.flatMap((offer) => (offer.shareId ? [offer.shareId] : []));
    await waitForTerminal(stack.dbA, ids, "backlog: sent by partner-a", stallMs, ["sent"]);
    const sentSeconds = (Date.now() - started) / 1000;
    const after = await redisMemory(redis, world.prefix);
    const inboxWaiting = await redis.llen(`${world.prefix}:inbox-partner-b:wait`);
    const sample = ids[0] ? await redis.hget(`${world.prefix}:inbox-partner-b:${ids[0]}`, "data") : null;
    const envelopeBytes = sample ? (JSON.parse(sample) as { envelope: string }).envelope.length : 0;
    say(`backlog: ${inboxWaiting} offers waiting; starting partner-b`);
    const spawnAt = Date.now();
    await stack.startPartnerB();
    const readyAt = Date.now();
    const run = await settle(stack, "backlog drain", `queued while partner-b was stopped`, offers, stallMs);
    return {
      shares: ids.length,
      acceptSeconds,
      sentSeconds,
      redis: {
        usedMemoryBefore: before.used,
        usedMemoryAfter: after.used,
        bytesPerShare: (after.used - before.used) / ids.length,
        ownKeysBytesBefore: before.own,
        ownKeysBytesAfter: after.own,
        ownBytesPerShare: (after.own - before.own) / ids.length,
        inboxWaiting,
        envelopeBytes,
      },
      drainFromStartSeconds: (run.lastAppliedAt - spawnAt) / 1000,
      drainFromReadySeconds: (run.lastAppliedAt - readyAt) / 1000,
      drainPerSecond: ids.length / ((run.lastAppliedAt - readyAt) / 1000),
      run,
    };
  } finally {
    redis.disconnect();
  }
}

export interface PostgresCounters {
  commits: number;
  rollbacks: number;
  inserted: number;
  updated: number;
  deleted: number;
  fetched: number;
}

/** pg_stat_database's counters of the pool's database (they lag: sessions flush them when idle). */
export async function postgresCounters(pool: pg.Pool): Promise<PostgresCounters> {
  const { rows } = await pool.query<Record<string, string>>(
    `select xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched
       from pg_stat_database where datname = current_database()`,
  );
  const row = rows[0] ?? {};
  return {
    commits: Number(row.xact_commit),
    rollbacks: Number(row.xact_rollback),
    inserted: Number(row.tup_inserted),
    updated: Number(row.tup_updated),
    deleted: Number(row.tup_deleted),
    fetched: Number(row.tup_fetched),
  };
}

export function perShare(
  before: PostgresCounters,
  after: PostgresCounters,
  shares: number,
): PostgresCounters {
  const per = (key: keyof PostgresCounters) => (after[key] - before[key]) / shares;
  return {
    commits: per("commits"),
    rollbacks: per("rollbacks"),
    inserted: per("inserted"),
    updated: per("updated"),
    deleted: per("deleted"),
    fetched: per("fetched"),
  };
}
