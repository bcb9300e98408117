import type { EnvelopeSealer, ImportResultPayload } from "@share-broker/channel";
import { createDrizzle, createLogger, createPgPool } from "@share-broker/service-kit";
import { recordedFallbacks } from "@share-broker/service-kit/testing";
import { createTestDatabase, type TestDatabase } from "@share-broker/testing";
import { AuditLog } from "../../src/audit/audit-log.js";
import { PARTNER_B_BATCHES } from "../../src/batches.js";
import type { ResultsChannel } from "../../src/channel/results-channel.js";
import * as schema from "../../src/db/schema/index.js";
import { ImportStore } from "../../src/imports/import-store.js";
import { ResultSender } from "../../src/results/result-sender.js";
import { seedLinkCodes } from "./offers.js";
import { MIGRATIONS_FOLDER } from "./processes.js";

/** A statement as sent: its text, and its name when it ran as a named prepared statement. */
export interface SentStatement {
  text: string;
  name: string | undefined;
}

/** Every statement partner-b sent to Postgres, BEGIN and COMMIT included, in order. */
export class StatementLog {
  readonly sent: SentStatement[] = [];

  get texts(): string[] {
    return this.sent.map((statement) => statement.text);
  }

  /** Runs `work` and returns the statements it sent. */
  async during(work: () => Promise<unknown>): Promise<string[]> {
    return (await this.namedDuring(work)).map((statement) => statement.text);
  }

  /** Runs `work` and returns the statements it sent, with their prepared statement names. */
  async namedDuring(work: () => Promise<unknown>): Promise<SentStatement[]> {
    const from = this.sent.length;
    await work();
    return this.sent.slice(from);
  }

  /** Every text each prepared statement name was sent with (node-postgres allows one per name). */
  textsByName(): Map<string, Set<string>> {
    const byName = new Map<string, Set<string>>();
    for (const { name, text } of this.sent) {
      if (name === undefined) continue;
      byName.set(name, (byName.get(name) ?? new Set()).add(text));
    }
    return byName;
  }
}

/** What the result sender handed to the results queue. */
export interface SentResult {
  partnerId: string;
  jobId: string;
  payload: ImportResultPayload;
}

/**
 * partner-b's store and result sender in this process, on their own database, with every
 * statement counted at the connection (each one a round trip) and the results queue replaced by
 * a list, so a test can see exactly what one import costs in Postgres.
 */
export async function inProcessPartnerB() {
  const database: TestDatabase = await createTestDatabase(MIGRATIONS_FOLDER);
  const statements = new StatementLog();
  // createPgPool ignores errors of idle clients: dropping the database ends connections still closing.
  const pool = createPgPool(database.url, { max: 4 });
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0];
      statements.sent.push(
        typeof first === "string"
          ? { text: first, name: undefined }
          : {
              text: String((first as { text: string }).text),
              name: (first as { name?: string }).name,
            },
      );
      return query(...args);
    };
  });
  const reader = createPgPool(database.url, { max: 1 });
  const db = createDrizzle(pool, schema);
  const audit = new AuditLog();
  const recorded = recordedFallbacks("partner-b", PARTNER_B_BATCHES);
  const store = new ImportStore(db, audit, recorded.fallbacks);
  await seedLinkCodes((text, values) => reader.query(text, values));
  const sent: SentResult[] = [];
  // While held, sends wait here: a test can act between a sender's claim and its mark.
  let held: { gate: Promise<void>; waiting: number } | undefined;
  // Sends of these job ids fail, as when Redis or the partner's keys are unavailable, with this message.
  const failing = new Map<string, string>();
  const sealer: EnvelopeSealer = {
    seal: async (input) => JSON.stringify({ jti: input.jti, payload: input.payload }),
  };
  const channel = {
    send: async (partnerId: string, jobId: string, envelope: string) => {
      if (held) {
        held.waiting += 1;
        await held.gate;
      }
      const failure = failing.get(jobId);
      if (failure !== undefined) throw new Error(failure);
      const added = !sent.some((result) => result.jobId === jobId);
      if (added) sent.push({ partnerId, jobId, payload: JSON.parse(envelope).payload });
      return { added };
    },
  } as unknown as ResultsChannel;
  const logger = createLogger({ service: "partner-b-test", level: "silent" });
  const newSender = (options: { leaseSeconds: number } = { leaseSeconds: 30 }) =>
    new ResultSender(
      { db, sealer, channel, audit, logger, fallbacks: recorded.fallbacks },
      { batchSize: 10, leaseSeconds: options.leaseSeconds, pollMs: 60_000, envelopeTtlSeconds: 3600 },
    );
  const sender = newSender();
  return {
    db,
    store,
    sender,
    /** Another sender on the same database and queue, e.g. with a short lease. */
    newSender,
    /** What the store's and the senders' batch fallbacks counted and logged. */
    recorded,
    sent,
    statements,
    /** Holds every send until the returned function is called. */
    holdSends: () => {
      let release = () => {};
      held = { gate: new Promise<void>((resolve) => (release = resolve)), waiting: 0 };
      return () => {
        held = undefined;
        release();
      };
    },
    /** Makes sends of these job ids fail (with `message`, if given) until the returned function is called. */
    failSends: (jobIds: string[], message?: string) => {
      for (const jobId of jobIds) failing.set(jobId, message ?? `results queue unavailable for ${jobId}`);
      return () => {
        for (const jobId of jobIds) failing.delete(jobId);
      };
    },
    waitForHeldSends: async (count: number) => {
      while ((held?.waiting ?? 0) < count) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    /** Reads the database outside the counted pool. */
    query: async <T extends Record<string, unknown>>(text: string, values: unknown[] = []) =>
      (await reader.query<T>(text, values)).rows,
    close: async () => {
      await pool.end();
      await reader.end();
      await database.drop();
    },
  };
}
