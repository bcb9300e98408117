import {
  type ChannelConsumer,
  createChannelConsumer,
  createDeadLetterQueue,
  type DeadLetterLimits,
  type EnvelopeOpener,
} from "@share-broker/channel";
import type { Logger } from "@share-broker/service-kit";
import type { Redis } from "ioredis";
import type { AuditLog } from "../audit/audit-log.js";
import type { PartnerABatchFallbacks } from "../batches.js";
import type { Database } from "../db/database.js";
import { ImportResultApplier } from "../shares/apply-import-result.js";
import type { ResultRefusals } from "./result-refusals.js";

/**
 * Consumes partners' signed import results from this partner's results queue. Envelopes that do
 * not open (tampered, unknown signer, addressed elsewhere, expired) are set aside in the
 * dead-letter queue with an audit event; a database error is thrown so BullMQ retries the job.
 * A result that opens but is refused (replayed, unknown share, wrong sender) is audited by the
 * applier, counted and logged here, and its job completes: a retry would only refuse it again.
 */
export function startImportResultsConsumer(deps: {
  db: Database;
  audit: AuditLog;
  opener: EnvelopeOpener;
  connection: Redis;
  producerConnection: Redis;
  queueName: string;
  prefix: string;
  concurrency: number;
  logger: Logger;
  fallbacks: PartnerABatchFallbacks;
  refusals: ResultRefusals;
  deadLetterLimits?: DeadLetterLimits;
}): { consumer: ChannelConsumer; close: () => Promise<void> } {
  const deadLetters = createDeadLetterQueue({
    connection: deps.producerConnection,
    queueName: deps.queueName,
    prefix: deps.prefix,
    logger: deps.logger,
    ...deps.deadLetterLimits,
  });
  const results = new ImportResultApplier(deps.db, deps.audit, deps.fallbacks);
  const consumer = createChannelConsumer({
    connection: deps.connection,
    queueName: deps.queueName,
    prefix: deps.prefix,
    concurrency: deps.concurrency,
    logger: deps.logger,
    handler: async (envelope, job) => {
      const opened = await deps.opener.open(envelope, "import-result");
      if (!opened.ok) {
        await deadLetters.sendToDeadLetter(String(job.id), envelope, opened.reason);
        await deps.audit.record(deps.db, {
          action: "result.dead_lettered",
          outcome: opened.reason,
          audience: opened.sender ?? null,
          details: { job_id: job.id, jti: opened.jti ?? null },
        });
        deps.logger.warn({ job_id: job.id, reason: opened.reason }, "import result rejected to dead-letter");
        return;
      }
      const { payload } = opened.claims;
      const outcome = await results.apply(opened.claims.iss, payload);
      const refused = deps.refusals.record(outcome, {
        jobId: String(job.id),
        shareId: payload.share_id,
        sequence: payload.sequence,
      });
      if (refused) return;
      deps.logger.info(
        { share_id: payload.share_id, result: payload.outcome, sequence: payload.sequence, applied: outcome },
        "import result received",
      );
    },
  });
  return {
    consumer,
    close: async () => {
      await consumer.close();
      await deadLetters.close();
    },
  };
}
