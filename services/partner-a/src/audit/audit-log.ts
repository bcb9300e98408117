import type { Executor } from "../db/database.js";
import { auditEvents } from "../db/schema/index.js";
import type { Pseudonymizer } from "./pseudonym.js";

export interface AuditEntry {
  action: string;
  outcome: string;
  userId?: string | null;
  audience?: string | null;
  purpose?: string | null;
  scope?: string | null;
  shareId?: string | null;
  tokenId?: string | null;
  tokenExpiresAt?: Date | null;
  requestId?: string | null;
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
    await executor.insert(auditEvents).values(
      entries.map((entry) => ({
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
        details: entry.details ?? {},
      })),
    );
  }
}
