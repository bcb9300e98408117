import { randomUUID } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { JsonClient } from "../http.js";
import { type Offer, offerAsFastAsAccepted, offerPaced } from "../load.js";
import type { Correctness } from "../outcomes.js";
import { sleep, waitForProgress } from "../progress.js";
import { type Launch, type RunningProcess, spawnProcess } from "../services.js";
import { maxOf, minOf, type Summary, summarize } from "../stats.js";
import { type BenchWorld, REDIS_URL, REPO_ROOT } from "../world.js";
import { SCHEMA_A, SCHEMA_B } from "./shape.js";

export interface BareRun {
  label: string;
  shares: number;
  firstAcceptAt: number;
  lastAppliedAt: number;
  seconds: number;
  sharesPerSecond: number;
  acceptToImport: Summary;
  acceptToApplied: Summary;
  correctness: Correctness;
}

async function waitForLine(process: RunningProcess, line: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!process.tail().split("\n").includes(line)) {
    if (process.child.exitCode !== null) throw new Error(`${process.name} exited:\n${process.tail()}`);
    if (Date.now() > deadline) throw new Error(`${process.name} not ready:\n${process.tail()}`);
    await sleep(50);
  }
}

/** Stand-ins for verified users: bare-a checks nothing. */
function bareUsers(label: string, count: number): { userId: string; consentId: string }[] {
  return Array.from({ length: count }, (_, index) => ({
    userId: `${label}-${index}`,
    consentId: randomUUID(),
  }));
}

/** The bare baseline's two processes, on the world's Redis prefix, Postgres server and sandbox. */
export class BareBaseline {
  private constructor(
    readonly processes: { a: RunningProcess; b: RunningProcess },
    private readonly client: JsonClient,
    private readonly dbA: pg.Pool,
    private readonly dbB: pg.Pool,
  ) {}

  static async start(world: BenchWorld, launch: Launch): Promise<BareBaseline> {
    const dbA = new pg.Pool({ connectionString: world.databases.bareA, max: 2 });
    const dbB = new pg.Pool({ connectionString: world.databases.bareB, max: 2 });
    await dbA.query(SCHEMA_A);
    await dbB.query(SCHEMA_B);
    const env = {
      NODE_ENV: "production",
      QUEUE_PREFIX: world.prefix,
      REDIS_URL,
      SANDBOX_URL: `http://127.0.0.1:${world.ports.sandbox}`,
    };
    const args = (name: string) => [
      ...launch.nodeArgs(name),
      "--import",
      "tsx",
      join(REPO_ROOT, `bench/bare/${name}.ts`),
    ];
    const a = spawnProcess(
      "bare-a",
      args("bare-a"),
      REPO_ROOT,
      { ...env, DATABASE_URL: world.databases.bareA, PORT: String(world.ports.bare) },
      launch.gc,
    );
    const b = spawnProcess(
      "bare-b",
      args("bare-b"),
      REPO_ROOT,
      { ...env, DATABASE_URL: world.databases.bareB },
      launch.gc,
    );
    await Promise.all([waitForLine(a, "ready"), waitForLine(b, "ready")]);
    return new BareBaseline({ a, b }, new JsonClient(`http://127.0.0.1:${world.ports.bare}`), dbA, dbB);
  }

  /** Offers `shares` as fast as bare-a accepts them (`concurrency` in flight). */
  async run(label: string, shares: number, concurrency: number, stallMs: number): Promise<BareRun> {
    const offers = await offerAsFastAsAccepted(this.client, bareUsers(label, shares), concurrency);
    return this.#settle(label, offers, stallMs);
  }

  /**
   * Offers `shares` at a fixed rate, as the half-load phase offers the product's: what the same I/O
   * costs in latency at that rate on this machine, with nothing else of the product in the way.
   */
  async runPaced(
    label: string,
    shares: number,
    perSecond: number,
    stallMs: number,
  ): Promise<BareRun & { maxLatenessMs: number }> {
    const { offers, maxLatenessMs } = await offerPaced(this.client, bareUsers(label, shares), perSecond);
    return { ...(await this.#settle(label, offers, stallMs)), maxLatenessMs };
  }

  async #settle(label: string, offers: Offer[], stallMs: number): Promise<BareRun> {
    const ids = offers.flatMap((offer) => (offer.shareId ? [offer.shareId] : []));
    await waitForProgress(
      `bare ${label}`,
      ids.length,
      async () => {
        const { rows } = await this.dbA.query<{ n: string }>(
          "select count(*) as n from shares where share_id = any($1::uuid[]) and status = 'done'",
          [ids],
        );
        return { done: Number(rows[0]?.n ?? 0) };
      },
      stallMs,
    );
    return this.#measure(label, offers, ids);
  }

  async #measure(label: string, offers: Offer[], ids: string[]): Promise<BareRun> {
    const { rows: atA } = await this.dbA.query<{
      share_id: string;
      status: string;
      applied_ms: string;
      mints: string;
    }>(
      `select s.share_id, s.status, extract(epoch from s.updated_at) * 1000 as applied_ms,
              (select count(*) from mints m where m.share_id = s.share_id) as mints
         from shares s where s.share_id = any($1::uuid[])`,
      [ids],
    );
    const { rows: atB } = await this.dbB.query<{ share_id: string; decided_ms: string }>(
      "select share_id, extract(epoch from decided_at) * 1000 as decided_ms from imports where share_id = any($1::uuid[])",
      [ids],
    );
    const applied = new Map(atA.map((row) => [row.share_id, row]));
    const imported = new Map(atB.map((row) => [row.share_id, Number(row.decided_ms)]));
    const problems: string[] = [];
    // An offer counts as accepted only with a share id read through the contract's schema.
    const refused = offers.filter((offer) => offer.status !== 202 || offer.shareId === undefined);
    if (refused.length) {
      problems.push(
        `${refused.length} offers not accepted, e.g. ${refused[0]?.status} ${refused[0]?.error ?? ""}`,
      );
    }
    const toImport: number[] = [];
    const toApplied: number[] = [];
    for (const offer of offers) {
      if (!offer.shareId) continue;
      const a = applied.get(offer.shareId);
      const b = imported.get(offer.shareId);
      if (a?.status !== "done" || b === undefined || Number(a.mints) !== 1) {
        if (problems.length < 20)
          problems.push(`${offer.shareId}: ${a?.status ?? "missing"}, mints ${a?.mints}, import ${b}`);
        continue;
      }
      toImport.push(b - offer.answeredAt);
      toApplied.push(Number(a.applied_ms) - offer.answeredAt);
    }
    const firstAcceptAt = minOf(offers.map((offer) => offer.answeredAt));
    const lastAppliedAt = maxOf(atA.map((row) => Number(row.applied_ms)));
    const seconds = (lastAppliedAt - firstAcceptAt) / 1000;
    return {
      label,
      shares: ids.length,
      firstAcceptAt,
      lastAppliedAt,
      seconds,
      sharesPerSecond: ids.length / seconds,
      acceptToImport: summarize(toImport),
      acceptToApplied: summarize(toApplied),
      correctness: { ok: problems.length === 0, checked: ids.length, problems },
    };
  }

  async stop(): Promise<void> {
    await this.client.close();
    await Promise.all([this.processes.a.stop(), this.processes.b.stop()]);
    await Promise.all([this.dbA.end(), this.dbB.end()]);
  }
}
