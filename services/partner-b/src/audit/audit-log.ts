import type { PartnerBAuditAction } from "@share-broker/contracts";
import { currentPrincipalName } from "@share-broker/service-kit";
import { type SQL, sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { auditEvents } from "../db/schema/index.js";

export interface AuditEntry {
  action: PartnerBAuditAction;
  outcome: string;
  /** The sharer's pseudonym of the user, from the envelope. */
  userPseudonym?: string | null;
  sourcePartner?: string | null;
  purpose?: string | null;
  scope?: string | null;
  shareId?: string | null;
  importId?: string | null;
  /** A hash prefix of the share token (shareTokenId), never the token. */
  tokenId?: string | null;
  tokenExpiresAt?: Date | null;
  requestId?: string | null;
  /**
   * The API principal that acted. Left out, it is the principal of the request being handled
   * (null in background work and signed webhooks).
   */
  principal?: string | null;
  details?: Record<string, unknown>;
}

/** Writes audit events inside the caller's transaction, so an effect and its audit land together. */
export class AuditLog {
  async record(executor: Executor, entry: AuditEntry): Promise<void> {
    await this.recordMany(executor, [entry]);
  }

  async recordMany(executor: Executor, entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await executor.insert(auditEvents).values(
      entries.map((entry) => ({
        action: entry.action,
        outcome: entry.outcome,
        userPseudonym: entry.userPseudonym ?? null,
        sourcePartner: entry.sourcePartner ?? null,
        purpose: entry.purpose ?? null,
        scope: entry.scope ?? null,
        shareId: entry.shareId ?? null,
        importId: entry.importId ?? null,
        tokenId: entry.tokenId ?? null,
        tokenExpiresAt: entry.tokenExpiresAt ?? null,
        requestId: entry.requestId ?? null,
        principal: entry.principal === undefined ? currentPrincipalName() : entry.principal,
        details: entry.details ?? {},
      })),
    );
  }

  /**
   * The SQL twin of record() for data-modifying CTEs: one event per row of the CTE `source`, which
   * returns imports columns (those importAuditContext reads); `details` may use them as
   * `<source>.<column>`. An empty source writes nothing, so an effect that did not happen leaves no
   * event, and an effect and its event commit together in one statement. `outcome` is one value for
   * every row, or SQL over the source's columns when it differs per row.
   */
  recordPerImportRow(
    source: string,
    event: { action: PartnerBAuditAction; outcome: string | SQL; details: SQL },
  ): SQL {
    const outcome = typeof event.outcome === "string" ? sql`${event.outcome}::text` : event.outcome;
    return sql`insert into audit_events
        (action, outcome, user_pseudonym, source_partner, purpose, scope, share_id, import_id,
         token_id, token_expires_at, principal, details)
      select ${event.action}::text, ${outcome}, user_pseudonym, source_partner, purpose, scope,
             share_id, import_id, token_id, token_expires_at, ${currentPrincipalName()}::text, ${event.details}
      from ${sql.identifier(source)}`;
  }

  /**
   * recordPerImportRow for a source whose rows each carry their own event (an import may have
   * several): columns `event_action`, `event_outcome`, `event_details` (jsonb) and `event_order`,
   * which orders one import's events. One insert, so their sequence follows that order.
   */
  recordEachEventRow(source: string): SQL {
    return sql`insert into audit_events
        (action, outcome, user_pseudonym, source_partner, purpose, scope, share_id, import_id,
         token_id, token_expires_at, principal, details)
      select event_action, event_outcome, user_pseudonym, source_partner, purpose, scope,
             share_id, import_id, token_id, token_expires_at, ${currentPrincipalName()}::text, event_details
      from ${sql.identifier(source)} order by import_id, event_order`;
  }

  /** An action as a SQL value, checked against the contract's list. */
  static action(action: PartnerBAuditAction): SQL {
    return sql`${action}::text`;
  }
}
