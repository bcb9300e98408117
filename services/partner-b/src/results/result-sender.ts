import type { EnvelopeSealer, ImportResultPayload } from "@share-broker/channel";
import { DrainLoop, type Logger } from "@share-broker/service-kit";
import { sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { ResultsChannel } from "../channel/results-channel.js";
import type { Database } from "../db/database.js";
import { jsonb } from "../db/raw-sql.js";
import { resultOutbox } from "../db/schema/index.js";

export interface ResultSenderOptions {
  batchSize: number;
  leaseSeconds: number;
  pollMs: number;
  /** Lifetime of a result envelope: long enough for a sharer that is down a while to still open it. */
  envelopeTtlSeconds: number;
}

interface Claimed {
  id: string;
  importId: string;
  jobId: string;
  sourcePartner: string;
  kind: string;
  seq: number;
  attempts: number;
  payload: ImportResultPayload;
}

/** Backoff between send attempts when Redis or the partner's keys are unavailable: 1 s … 5 min. */
function backoffSeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.max(0, attempts - 1));
}

/**
 * Drains the results outbox (DESIGN.md §3 step 6): seals each result to the source partner and adds
 * it to its results queue. A row is marked sent only after the queue accepted it; a sender that dies
 * in between leaves a leased row that is sent again once the lease lapses, under the same job id,
 * which the queue and the sharer both treat as a duplicate. An import's results go out in order.
 */
export class ResultSender {
  readonly #loop: DrainLoop;
  #lastErrorLog = 0;

  constructor(
    private readonly deps: {
      db: Database;
      sealer: EnvelopeSealer;
      channel: ResultsChannel;
      audit: AuditLog;
      logger: Logger;
    },
    private readonly options: ResultSenderOptions,
  ) {
    this.#loop = new DrainLoop(
      "result sender",
      async () => (await this.drainOnce()) >= this.options.batchSize,
      this.options.pollMs,
      this.deps.logger,
    );
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** Called after an outcome commits, so its result goes out now rather than at the next poll. */
  wake(): void {
    this.#loop.wake();
  }

  /** One pass; returns how many results were sent. Tests and the loop both use it. */
  async drainOnce(): Promise<number> {
    const claimed = await this.#claim(this.options.batchSize);
    const sent = await Promise.all(claimed.map((row) => this.#sendSafely(row)));
    return sent.filter(Boolean).length;
  }

  async #claim(limit: number): Promise<Claimed[]> {
    // Only the oldest unsent result of each import is eligible, so a refresh never overtakes the outcome.
    const result = await this.deps.db.execute<{
      id: string;
      import_id: string;
      job_id: string;
      source_partner: string;
      kind: string;
      seq: number;
      attempts: number;
      payload: ImportResultPayload;
    }>(sql`
      update result_outbox set leased_until = now() + make_interval(secs => ${this.options.leaseSeconds}),
             attempts = attempts + 1
      where id in (
        select o.id from result_outbox o
        where o.sent_at is null and o.due_at <= now() and (o.leased_until is null or o.leased_until < now())
          and not exists (select 1 from result_outbox earlier
                          where earlier.import_id = o.import_id and earlier.seq < o.seq and earlier.sent_at is null)
        order by o.due_at limit ${limit} for update skip locked)
      returning id, import_id, job_id, source_partner, kind, seq, attempts, payload`);
    return result.rows.map((row) => ({
      id: String(row.id),
      importId: row.import_id,
      jobId: row.job_id,
      sourcePartner: row.source_partner,
      kind: row.kind,
      seq: row.seq,
      attempts: row.attempts,
      payload: row.payload,
    }));
  }

  async #sendSafely(row: Claimed): Promise<boolean> {
    try {
      await this.#send(row);
      return true;
    } catch (error) {
      this.#logError(error, "sending an import result failed; will retry", { job_id: row.jobId });
      await this.deps.db
        .update(resultOutbox)
        .set({
          dueAt: sql`now() + make_interval(secs => ${backoffSeconds(row.attempts)})`,
          leasedUntil: null,
          lastError: String((error as Error).message ?? error).slice(0, 500),
        })
        .where(sql`${resultOutbox.id} = ${row.id}`)
        .catch(() => undefined);
      return false;
    }
  }

  async #send(row: Claimed): Promise<void> {
    const envelope = await this.deps.sealer.seal({
      to: row.sourcePartner,
      typ: "import-result",
      jti: row.jobId,
      expiresAt: new Date(Date.now() + this.options.envelopeTtlSeconds * 1000),
      payload: row.payload,
    });
    const { added } = await this.deps.channel.send(row.sourcePartner, row.jobId, envelope);
    await this.#markSent(row, added);
    this.deps.logger.info(
      {
        share_id: row.payload.share_id,
        import_id: row.importId,
        job_id: row.jobId,
        outcome: row.payload.outcome,
      },
      "import result sent",
    );
  }

  /**
   * Marks the result sent and audits it in one statement (one round trip, one commit). Only the
   * first marking counts: a row already marked (a sender whose lease lapsed, racing us) gets no
   * second event. The event carries the import's audit context; should the import row be gone, the
   * payload's share id and the outbox row's import id still say what was sent.
   */
  async #markSent(row: Claimed, added: boolean): Promise<void> {
    await this.deps.db.execute(sql`
      with marked as (
        update result_outbox set sent_at = now(), leased_until = null, last_error = null
        where id = ${row.id}::bigint and sent_at is null
        returning import_id),
      sent as (
        select i.user_pseudonym, ${row.sourcePartner}::text as source_partner, i.purpose, i.scope,
               coalesce(i.share_id, ${row.payload.share_id}::text) as share_id, marked.import_id,
               i.token_id, i.token_expires_at
        from marked left join imports i on i.import_id = marked.import_id)
      ${this.deps.audit.recordPerImportRow("sent", {
        action: "result.sent",
        outcome: row.payload.outcome,
        details: jsonb({
          job_id: row.jobId,
          kind: row.kind,
          seq: row.seq,
          session_status: row.payload.session_status ?? null,
          reason: row.payload.reason ?? null,
          queued: added ? "added" : "already_queued",
        }),
      })}`);
  }

  #logError(error: unknown, message: string, context: Record<string, unknown> = {}): void {
    // While Postgres or Redis is down every poll fails; one line per 10 s says so well enough.
    const now = Date.now();
    if (now - this.#lastErrorLog < 10_000) return;
    this.#lastErrorLog = now;
    this.deps.logger.error({ err: error, ...context }, message);
  }
}
