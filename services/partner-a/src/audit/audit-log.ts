import type { PartnerAAuditAction } from "@share-broker/contracts";
import { currentPrincipalName } from "@share-broker/service-kit";
import { param, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { auditEvents } from "../db/schema/index.js";
import type { Pseudonymizer } from "./pseudonym.js";

export interface AuditEntry {
  action: PartnerAAuditAction;
  outcome: string;
  userId?: string | null;
  audience?: string | null;
  purpose?: string | null;
  scope?: string | null;
  shareId?: string | null;
  tokenId?: string | null;
  tokenExpiresAt?: Date | null;
  requestId?: string | null;
  /**
   * The API principal that acted. Left out, it is the principal of the request being handled
   * (null in background work); batched paths pass it, as their statement may run in another
   * request's context.
   */
  principal?: string | null;
  details?: Record<string, unknown>;
}

/** Writes audit events inside the caller's transaction, so an effect and its audit land together. */
export class AuditLog {
  readonly #pseudonyms: Pseudonymizer;
  constructor(pseudonyms: Pseudonymizer) {
    this.#pseudonyms = pseudonyms;
  }

  async record(executor: Executor, entry: AuditEntry): Promise<void> {
    await this.recordMany(executor, [entry]);
  }

  async recordMany(executor: Executor, entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await executor.insert(auditEvents).values(entries.map((entry) => this.#row(entry)));
  }

  /** The keyed pseudonym audit events carry instead of the user id. */
  pseudonymOf(userId: string): string {
    return this.#pseudonyms.of(userId);
  }

  /**
   * One event per row of the CTE `source`, which returns share rows: their pseudonym, audience,
   * purpose, scope and token go into the event. For statements that change shares and audit them
   * at once, without reading the shares first.
   */
  insertForShares(
    source: string,
    event: {
      action: PartnerAAuditAction;
      outcome: string | SQL;
      requestId?: string | null | SQL;
      /** Left out: the principal of the request being handled (see AuditEntry.principal). */
      principal?: string | null | SQL;
      details?: SQL;
    },
  ): SQL {
    return sql`insert into audit_events
        (action, outcome, user_pseudonym, audience, purpose, scope, share_id, token_id, token_expires_at, request_id,
         principal, details)
      select ${event.action}, ${event.outcome}, user_pseudonym, audience, purpose, scope, share_id, token_id,
             token_expires_at, ${event.requestId ?? null},
             ${event.principal === undefined ? currentPrincipalName() : event.principal}::text,
             ${event.details ?? sql`'{}'::jsonb`}
      from ${sql.identifier(source)}`;
  }

  /**
   * Many events as one member of a data-modifying CTE, so a batch is audited in the statement that
   * changes it. With `onlyForSharesIn`, an event is written only if its share id is among the
   * `share_id`s the named CTE returns: the shares the statement actually changed.
   */
  insertEach(entries: AuditEntry[], onlyForSharesIn?: string): SQL {
    const rows = entries.map((entry) => this.#row(entry));
    const column = (pick: (row: (typeof rows)[number]) => unknown) => param(rows.map(pick));
    return sql`insert into audit_events
        (action, outcome, user_pseudonym, audience, purpose, scope, share_id, token_id, token_expires_at, request_id,
         principal, details)
      select e.action, e.outcome, e.user_pseudonym, e.audience, e.purpose, e.scope, e.share_id, e.token_id,
             e.token_expires_at, e.request_id, e.principal, e.details::jsonb
      from unnest(${column((row) => row.action)}::text[], ${column((row) => row.outcome)}::text[],
                  ${column((row) => row.userPseudonym)}::text[], ${column((row) => row.audience)}::text[],
                  ${column((row) => row.purpose)}::text[], ${column((row) => row.scope)}::text[],
                  ${column((row) => row.shareId)}::uuid[], ${column((row) => row.tokenId)}::text[],
                  ${column((row) => row.tokenExpiresAt)}::timestamptz[], ${column((row) => row.requestId)}::text[],
                  ${column((row) => row.principal)}::text[], ${column((row) => JSON.stringify(row.details))}::text[])
        as e(action, outcome, user_pseudonym, audience, purpose, scope, share_id, token_id, token_expires_at,
             request_id, principal, details)
      ${onlyForSharesIn ? sql`where e.share_id in (select share_id from ${sql.identifier(onlyForSharesIn)})` : sql``}`;
  }

  #row(entry: AuditEntry) {
    return {
      action: entry.action,
      outcome: entry.outcome,
      userPseudonym: entry.userId ? this.#pseudonyms.of(entry.userId) : null,
      audience: entry.audience ?? null,
      purpose: entry.purpose ?? null,
      scope: entry.scope ?? null,
      shareId: entry.shareId ?? null,
      tokenId: entry.tokenId ?? null,
      tokenExpiresAt: entry.tokenExpiresAt ?? null,
      requestId: entry.requestId ?? null,
      principal: entry.principal === undefined ? currentPrincipalName() : entry.principal,
      details: entry.details ?? {},
    };
  }
}
