import { randomUUID } from "node:crypto";
import { LINK_CODE_REFUSALS, OPEN_IMPORT_STATES } from "@share-broker/contracts";
import { amongIdsInStates, columnsOf, executePrepared, rowMapper } from "@share-broker/service-kit";
import { param, sql } from "drizzle-orm";
import { AuditLog } from "../audit/audit-log.js";
import { channelJobId } from "../channel/job-ids.js";
import type { Database } from "../db/database.js";
import { imports } from "../db/schema/index.js";
import { enqueueResultsPerRow } from "../results/result-outbox.js";
import type { ImportRow } from "./import-row.js";
import type { ImportedCopy, ImportKey, Lease, ReceivedOffer } from "./import-store.js";

/**
 * The two hot statements of an import (first receipt, success) for a whole group-committed batch:
 * one statement for every item of the batch, whose values travel as arrays (`unnest`), so its text
 * (one prepared statement) does not depend on the batch size. Each answers per item, in the items'
 * order. ImportStore also runs them for a single item, under a name of their own, when a batch
 * failed and its items retry one by one.
 */

export interface PendingReceipt {
  offer: ReceivedOffer;
  jobId: string;
  lease: Lease;
}

export interface PendingImported {
  key: ImportKey;
  copy: ImportedCopy;
  details: Record<string, unknown>;
}

const importFromRow = rowMapper(imports);

/** The open import states as a SQL list, for `status in (…)`. */
export const OPEN_STATES = sql.join(
  OPEN_IMPORT_STATES.map((state) => sql`${state}`),
  sql`, `,
);

/** Audit details of an imported row's Didit side, from the `finished` CTE (as ImportStore#finish writes them). */
const DIDIT_DETAILS = sql`jsonb_build_object(
  'didit_session_id', finished.didit_session_id, 'workflow_id', finished.workflow_id,
  'trust_review', finished.trust_review, 'policy_version', finished.policy_version,
  'shared_from_session', finished.shared_from_session)`;

/**
 * Inserts each offer's receipt with its "import.received" event, and redeems its link code in the
 * same statement. Answers the new row per item, or undefined where the offer was received before,
 * including by an earlier item of this same batch (two deliveries of one share): the row of
 * (source, share id) is then committed when this returns, so the caller's replay path finds it.
 *
 * The link code decides the receipt. An open link request for the code's hash (unexpired, unused,
 * for this source if it names one) is spent on this import, and the import is inserted leased to
 * its job (as ImportStore's claim leases a free import) for the link request's user_ref as
 * vendor_data. Otherwise the import is inserted already rejected with the refusal
 * (link_code_unknown, _expired or _used), its "import.rejected" event and its result for the sharer,
 * and nothing is imported. A code restricted to another source is unknown to this one.
 *
 * Exactly one receipt spends a code. The redeeming update re-checks `used_at is null` after waiting
 * for a concurrent redemption of the same code (READ COMMITTED re-evaluates the row), so of two
 * offers carrying one code the later finds it used. Within a batch an update joins a link request
 * to one input row only. A receipt of an offer received before redeems nothing (its import exists),
 * so a redelivery after a redemption is a replay, never refused as reused; and should a receipt lose
 * the race for its share id after redeeming, the deferred foreign key to imports fails the statement
 * at commit rather than leave the code spent on an import that does not exist.
 *
 * Rows are inserted in (source, share id) order, so two batches in flight that hold the same shares
 * take their unique-index waits in one order rather than deadlocking; the earliest delivery of a
 * share within the batch is the one inserted.
 */
export async function receiveNewOffers(
  db: Database,
  audit: AuditLog,
  pending: PendingReceipt[],
  statementName = "partner-b.imports.receive-batch",
): Promise<Array<ImportRow | undefined>> {
  const ids = pending.map(() => randomUUID());
  const column = (pick: (item: PendingReceipt, index: number) => unknown) => param(pending.map(pick));
  const now = new Date();
  const rows = await executePrepared(
    db,
    statementName,
    sql`
    with input as (
      select * from unnest(${param(ids)}::uuid[], ${column((_, index) => index)}::int[],
          ${column(({ offer }) => offer.sourcePartner)}::text[], ${column(({ offer }) => offer.shareId)}::text[],
          ${column(({ offer }) => offer.userPseudonym)}::text[], ${column(({ offer }) => offer.purpose)}::text[],
          ${column(({ offer }) => offer.scope)}::text[], ${column(({ offer }) => offer.consentId)}::text[],
          ${column(({ offer }) => offer.linkCodeHash)}::text[], ${column(({ offer }) => offer.sessionKind)}::text[],
          ${column(({ offer }) => offer.tokenHash)}::text[], ${column(({ offer }) => offer.tokenId)}::text[],
          ${column(({ offer }) => offer.tokenExpiresAt.toISOString())}::timestamptz[],
          ${column(({ offer }) => offer.claimedSourceSession)}::text[],
          ${column(({ lease }) => lease.policy?.workflowId ?? null)}::uuid[],
          ${column(({ lease }) => lease.policy?.trustReview ?? null)}::boolean[],
          ${column(({ lease }) => lease.policy?.policyVersion ?? null)}::text[],
          ${column(({ jobId }) => jobId)}::text[], ${column(({ lease }) => lease.seconds)}::double precision[],
          ${column(({ offer }) => channelJobId(offer.shareId))}::text[])
        as i(import_id, ord, source_partner, share_id, user_pseudonym, purpose, scope, consent_id, code_hash,
             session_kind, token_hash, token_id, token_expires_at, claimed_source_session,
             workflow_id, trust_review, policy_version, job_id, lease_seconds, job_id_base)),
    delivered as (
      select distinct on (source_partner, share_id) * from input order by source_partner, share_id, ord),
    redeemed as (
      update link_requests l set used_at = now(), import_id = f.import_id
      from delivered f
      where l.code_hash = f.code_hash and l.used_at is null and l.expires_at > now()
        and (l.source is null or l.source = f.source_partner)
        and not exists (
          select 1 from imports m where m.source_partner = f.source_partner and m.share_id = f.share_id)
      returning f.import_id, l.link_id, l.user_ref),
    verdict as (
      select f.*, r.link_id, r.user_ref,
             case when r.import_id is not null then null
                  when l.link_id is null or (l.source is not null and l.source <> f.source_partner)
                    then ${LINK_CODE_REFUSALS.unknown}::text
                  when l.used_at is null and l.expires_at <= now() then ${LINK_CODE_REFUSALS.expired}::text
                  -- Used before, or open in this snapshot but redeemed meanwhile by a concurrent receipt.
                  else ${LINK_CODE_REFUSALS.used}::text end as refusal
      from delivered f
      left join redeemed r using (import_id)
      left join link_requests l on l.code_hash = f.code_hash),
    inserted as (
      insert into imports (import_id, source_partner, share_id, status, reason, user_pseudonym, purpose, scope,
        consent_id, link_id, session_kind, vendor_data, token_hash, token_id, token_expires_at,
        claimed_source_session, workflow_id, trust_review, policy_version, attempts, lease_owner, leased_until,
        decided_at)
      select import_id, source_partner, share_id, case when refusal is null then 'importing' else 'rejected' end,
        refusal, user_pseudonym, purpose, scope, consent_id, link_id, session_kind, user_ref, token_hash,
        token_id, token_expires_at, claimed_source_session, workflow_id, trust_review, policy_version,
        case when refusal is null then 1 else 0 end,
        case when refusal is null then job_id end,
        case when refusal is null then now() + make_interval(secs => lease_seconds) end,
        case when refusal is null then null else ${now.toISOString()}::timestamptz end
      from verdict order by source_partner, share_id, ord
      on conflict (source_partner, share_id) do nothing
      returning ${columnsOf(imports)}),
    received as (select inserted.*, v.job_id, v.job_id_base from inserted join verdict v using (import_id)),
    -- Its receipt, and for a refused code its rejection after it: one insert, in that order.
    events as (
      select received.*, 1 as event_order, ${AuditLog.action("import.received")} as event_action,
             'received'::text as event_outcome,
             jsonb_build_object('job_id', received.job_id, 'vendor_data', received.vendor_data,
               'link_id', received.link_id) as event_details
      from received
      union all
      select received.*, 2, ${AuditLog.action("import.rejected")}, received.reason,
             jsonb_build_object('job_id', received.job_id, 'attempt', 0)
      from received where status = 'rejected'),
    audited as (${audit.recordEachEventRow("events")}),
    refused as (select * from received where status = 'rejected'),
    refusal_queued as (${enqueueResultsPerRow("refused", sql`r.job_id_base`, "outcome", now)})
    select ${columnsOf(imports)} from inserted`,
  );
  const byId = new Map(rows.map((row) => [String(row.import_id), importFromRow(row)]));
  return ids.map((id) => byId.get(id));
}

/**
 * Records a batch of imports as imported (as ImportStore.recordImported does for one): each open
 * import is updated, audited ("import.imported", outcome its Didit status) and gets its result,
 * numbered after its own last result. Answers the finished row per item, or undefined where the
 * import was not open (another delivery finished it).
 *
 * An import appears at most once in the statement, which numbering results per import requires (see
 * enqueueResultsPerRow): a second item of an import already in the batch is answered undefined, as
 * the one-item path would answer it after the first committed, since the import is no longer open
 * once this statement has run, whether the first item finished it or found it finished.
 */
export async function finishImported(
  db: Database,
  audit: AuditLog,
  pending: PendingImported[],
  statementName = "partner-b.imports.finish-imported-batch",
): Promise<Array<ImportRow | undefined>> {
  const firstOf = new Map<string, number>();
  pending.forEach(({ key }, index) => {
    const id = key.importId.toLowerCase();
    if (!firstOf.has(id)) firstOf.set(id, index);
  });
  const unique = [...firstOf.values()].map((index) => pending[index] as PendingImported);
  const column = (pick: (item: PendingImported) => unknown) => param(unique.map(pick));
  const now = new Date();
  const rows = await executePrepared(
    db,
    statementName,
    sql`
    with input as (
      select * from unnest(${column(({ key }) => key.importId)}::uuid[],
          ${column(({ key }) => channelJobId(key.shareId))}::text[],
          ${column(({ copy }) => copy.sessionId)}::uuid[], ${column(({ copy }) => copy.status)}::text[],
          ${column(({ copy }) => copy.statusAt.toISOString())}::timestamptz[],
          ${column(({ copy }) => copy.sharedFromSession)}::text[],
          ${column(({ details }) => JSON.stringify(details))}::text[])
        as i(import_id, job_id_base, didit_session_id, didit_status, didit_status_at, shared_from_session,
             event_details)),
    finished as (
      update imports m set status = 'imported', reason = null, didit_session_id = i.didit_session_id,
             didit_status = i.didit_status, didit_status_at = i.didit_status_at,
             shared_from_session = i.shared_from_session, last_error = null,
             decided_at = ${now.toISOString()}::timestamptz, lease_owner = null, leased_until = null,
             updated_at = ${now.toISOString()}::timestamptz
      from input i
      where m.import_id = i.import_id and ${amongIdsInStates(
        sql`m.import_id`,
        unique.map(({ key }) => key.importId),
        sql`m.status`,
        OPEN_IMPORT_STATES,
      )}
      returning ${columnsOf(imports, "m")}, i.event_details, i.job_id_base),
    audited as (${audit.recordPerImportRow("finished", {
      action: "import.imported",
      outcome: sql`finished.didit_status`,
      details: sql`finished.event_details::jsonb || ${DIDIT_DETAILS}`,
    })}),
    queued as (${enqueueResultsPerRow("finished", sql`r.job_id_base`, "outcome", now)})
    select ${columnsOf(imports)} from finished`,
  );
  const byId = new Map(rows.map((row) => [String(row.import_id), importFromRow(row)]));
  return pending.map(({ key }, index) => {
    const id = key.importId.toLowerCase();
    return firstOf.get(id) === index ? byId.get(id) : undefined;
  });
}
