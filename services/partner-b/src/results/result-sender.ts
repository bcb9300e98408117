import type { EnvelopeSealer, ImportResultPayload } from "@share-broker/channel";
import { DrainLoop, executePrepared, type Logger } from "@share-broker/service-kit";
import { param, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { PartnerBBatchFallbacks } from "../batches.js";
import type { ResultsChannel } from "../channel/results-channel.js";
import type { Database } from "../db/database.js";
import { resultSequenceOf } from "./result-outbox.js";

export interface ResultSenderOptions {
  batchSize: number;
  leaseSeconds: number;
  pollMs: number;
  /** Lifetime of a result envelope: long enough for a sharer that is down a while to still open it. */
  envelopeTtlSeconds: number;
}

/** A payload as the outbox holds it: rows queued before results carried a sequence have none. */
type StoredResultPayload = Omit<ImportResultPayload, "sequence"> & { sequence?: number };

interface Claimed {
  id: string;
  importId: string;
  jobId: string;
  sourcePartner: string;
  kind: string;
  seq: number;
  attempts: number;
  payload: StoredResultPayload;
}

/** A claimed result its queue took (`added`), or already had under its job id (a send repeated). */
interface Added {
  row: Claimed;
  added: boolean;
}

/** A claimed result that could not be sealed or added. */
interface Failed {
  row: Claimed;
  error: unknown;
}

/**
 * The row's payload with its sequence. Rows written before results carried one (queued before an
 * upgrade, still unsent) get it from their seq, as it would have been written: without it the
 * sharer's schema, and our own sealer, would refuse them forever.
 */
function withSequence(row: Claimed): ImportResultPayload {
  return { ...row.payload, sequence: row.payload.sequence ?? resultSequenceOf(row.seq) };
}

/** Backoff between send attempts when Redis or the partner's keys are unavailable: 1 s … 5 min. */
function backoffSeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.max(0, attempts - 1));
}

/**
 * Drains the results outbox (docs/ARCHITECTURE.md#the-flow, step 6): seals each result to the source partner
 * and adds it to its results queue. A row is marked sent only after the queue accepted it; a sender that dies
 * in between leaves a leased row that is sent again once the lease lapses, under the same job id, which the
 * queue and the sharer both treat as a duplicate. An import's results go out in order.
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
      fallbacks: PartnerBBatchFallbacks;
    },
    private readonly options: ResultSenderOptions,
  ) {
    this.#loop = new DrainLoop(
      "result sender",
      // Full means the claim took a whole batch (more is likely waiting), whatever became of the sends.
      async () => (await this.#drain()).claimed >= this.options.batchSize,
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

  /**
   * One pass; returns how many results were sent (the loop asks instead whether the claim was full). The batch's
   * results are sealed and added to their queues in parallel; then those the queue took are marked
   * sent, with their events, in one statement, and those it did not are rescheduled in another.
   */
  async drainOnce(): Promise<number> {
    return (await this.#drain()).sent;
  }

  async #drain(): Promise<{ claimed: number; sent: number }> {
    const claimed = await this.#claim(this.options.batchSize);
    if (claimed.length === 0) return { claimed: 0, sent: 0 };
    const attempts = await Promise.all(claimed.map((row) => this.#add(row)));
    const added = attempts.filter((attempt): attempt is Added => "added" in attempt);
    const failed = attempts.filter((attempt): attempt is Failed => "error" in attempt);
    const [sent] = await Promise.all([this.#markSentSafely(added), this.#reschedule(failed)]);
    return { claimed: claimed.length, sent };
  }

  async #claim(limit: number): Promise<Claimed[]> {
    // Only the oldest unsent result of each import is eligible, so a refresh never overtakes the
    // outcome; a batch so holds at most one result per import.
    const rows = await executePrepared<{
      id: string;
      import_id: string;
      job_id: string;
      source_partner: string;
      kind: string;
      seq: number;
      attempts: number;
      payload: StoredResultPayload;
    }>(
      this.deps.db,
      "partner-b.results.claim",
      sql`
      update result_outbox set leased_until = now() + make_interval(secs => ${this.options.leaseSeconds}),
             attempts = attempts + 1
      where id in (
        select o.id from result_outbox o
        where o.sent_at is null and o.due_at <= now() and (o.leased_until is null or o.leased_until < now())
          and not exists (select 1 from result_outbox earlier
                          where earlier.import_id = o.import_id and earlier.seq < o.seq and earlier.sent_at is null)
        order by o.due_at limit ${limit} for update skip locked)
      returning id, import_id, job_id, source_partner, kind, seq, attempts, payload`,
    );
    return rows.map((row) => ({
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

  /** Seals the result and adds it to the source partner's results queue; a failure is returned, not thrown. */
  async #add(row: Claimed): Promise<Added | Failed> {
    try {
      const envelope = await this.deps.sealer.seal({
        to: row.sourcePartner,
        typ: "import-result",
        jti: row.jobId,
        expiresAt: new Date(Date.now() + this.options.envelopeTtlSeconds * 1000),
        payload: withSequence(row),
      });
      const { added } = await this.deps.channel.send(row.sourcePartner, row.jobId, envelope);
      return { row, added };
    } catch (error) {
      this.#logError(error, "sending an import result failed; will retry", { job_id: row.jobId });
      return { row, error };
    }
  }

  /**
   * Marks the results the queue took as sent; should that fail, they are rescheduled like a failed
   * send (sending again is harmless: the queue and the sharer take a job id once).
   */
  async #markSentSafely(added: Added[]): Promise<number> {
    if (added.length === 0) return 0;
    try {
      await this.#markSent(added);
    } catch (error) {
      this.deps.fallbacks.record("result_mark_sent", error, added.length);
      await this.#reschedule(added.map(({ row }) => ({ row, error })));
      return 0;
    }
    for (const { row } of added) {
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
    return added.length;
  }

  /**
   * Marks the batch's added results sent and audits each in one statement (one round trip, one
   * commit, whatever the batch size). Only the first marking of a result counts: one already marked
   * (by a sender whose lease lapsed, racing us) is skipped and gets no second event. Rows are locked
   * in id order, so two senders marking overlapping batches wait for each other rather than
   * deadlock. Each event carries the import's audit context; should the import row be gone, the
   * payload's share id and the outbox row's import id still say what was sent.
   */
  async #markSent(added: Added[]): Promise<void> {
    const ids = added.map(({ row }) => row.id);
    const sourcePartners = added.map(({ row }) => row.sourcePartner);
    const shareIds = added.map(({ row }) => row.payload.share_id);
    const outcomes = added.map(({ row }) => row.payload.outcome);
    const details = added.map(({ row, added: queued }) =>
      JSON.stringify({
        job_id: row.jobId,
        kind: row.kind,
        seq: row.seq,
        session_status: row.payload.session_status ?? null,
        reason: row.payload.reason ?? null,
        queued: queued ? "added" : "already_queued",
      }),
    );
    await executePrepared(
      this.deps.db,
      "partner-b.results.mark-sent",
      sql`
      with batch as (
        select * from unnest(${param(ids)}::bigint[], ${param(sourcePartners)}::text[],
                             ${param(shareIds)}::text[], ${param(outcomes)}::text[], ${param(details)}::jsonb[])
          as b(id, source_partner, share_id, outcome, details)),
      locked as (
        select o.id from result_outbox o
        where o.id in (select id from batch) and o.sent_at is null
        order by o.id for update of o),
      marked as (
        update result_outbox o set sent_at = now(), leased_until = null, last_error = null
        from locked where o.id = locked.id and o.sent_at is null
        returning o.id, o.import_id),
      sent as (
        select i.user_pseudonym, b.source_partner, i.purpose, i.scope,
               coalesce(i.share_id, b.share_id) as share_id, marked.import_id, i.token_id,
               i.token_expires_at, b.outcome, b.details
        from marked join batch b on b.id = marked.id
        left join imports i on i.import_id = marked.import_id)
      ${this.deps.audit.recordPerImportRow("sent", {
        action: "result.sent",
        outcome: sql`sent.outcome`,
        details: sql`sent.details`,
      })}`,
    );
  }

  /**
   * Puts results back with a backoff after their own number of attempts, in one statement: a row
   * another sender marked sent meanwhile is left alone. Best effort: should it fail too, it is
   * counted and logged as a fallback, the lease lapses and the result is claimed again.
   */
  async #reschedule(failed: Failed[]): Promise<void> {
    if (failed.length === 0) return;
    const ids = failed.map(({ row }) => row.id);
    const delays = failed.map(({ row }) => backoffSeconds(row.attempts));
    const errors = failed.map(({ error }) => String((error as Error)?.message ?? error).slice(0, 500));
    await executePrepared(
      this.deps.db,
      "partner-b.results.reschedule",
      sql`
      update result_outbox o set due_at = now() + make_interval(secs => f.delay), leased_until = null,
             last_error = f.error
      from unnest(${param(ids)}::bigint[], ${param(delays)}::float8[], ${param(errors)}::text[])
        as f(id, delay, error)
      where o.id = f.id and o.sent_at is null`,
    ).catch((error: unknown) => this.deps.fallbacks.record("result_reschedule", error, failed.length));
  }

  #logError(error: unknown, message: string, context: Record<string, unknown> = {}): void {
    // While Postgres or Redis is down every poll fails; one line per 10 s says so well enough.
    const now = Date.now();
    if (now - this.#lastErrorLog < 10_000) return;
    this.#lastErrorLog = now;
    this.deps.logger.error({ err: error, ...context }, message);
  }
}
