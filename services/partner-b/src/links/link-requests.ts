import { randomUUID } from "node:crypto";
import type { LinkRequest, LinkRequestCreated, LinkRequestState } from "@share-broker/contracts";
import { eq, sql } from "drizzle-orm";
import type { AuditLog } from "../audit/audit-log.js";
import type { Database } from "../db/database.js";
import { linkRequests } from "../db/schema/index.js";
import { linkCodeHash, newLinkCode } from "./link-codes.js";

type LinkRequestRow = typeof linkRequests.$inferSelect;

export interface NewLinkRequest {
  userRef: string;
  source: string | null;
  ttlSeconds: number;
  requestId: string;
}

/**
 * Issues a link request: its code is answered once and only its hash is stored. The expiry is set
 * by the database clock, the one redemption compares against. Audited without the user_ref (the
 * link id finds it) and without the code.
 */
export async function createLinkRequest(
  db: Database,
  audit: AuditLog,
  request: NewLinkRequest,
): Promise<LinkRequestCreated> {
  const code = newLinkCode();
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(linkRequests)
      .values({
        linkId: randomUUID(),
        userRef: request.userRef,
        source: request.source,
        codeHash: linkCodeHash(code),
        expiresAt: sql`now() + make_interval(secs => ${request.ttlSeconds})`,
      })
      .returning();
    if (!row) throw new Error("link request insert returned nothing");
    await audit.record(tx, {
      action: "link_request.created",
      outcome: "created",
      sourcePartner: row.source,
      requestId: request.requestId,
      details: { link_id: row.linkId, expires_at: row.expiresAt.toISOString() },
    });
    return { link_id: row.linkId, code, expires_at: row.expiresAt.toISOString() };
  });
}

/** A link request as the API answers it, its state judged by the database clock; undefined if unknown. */
export async function findLinkRequest(db: Database, linkId: string): Promise<LinkRequest | undefined> {
  const [found] = await db
    .select({ row: linkRequests, expired: sql<boolean>`${linkRequests.expiresAt} <= now()` })
    .from(linkRequests)
    .where(eq(linkRequests.linkId, linkId));
  return found && linkRequestView(found.row, found.expired);
}

function linkRequestView(row: LinkRequestRow, expired: boolean): LinkRequest {
  const status: LinkRequestState = row.usedAt ? "used" : expired ? "expired" : "open";
  return {
    link_id: row.linkId,
    user_ref: row.userRef,
    source: row.source,
    status,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    used_at: row.usedAt ? row.usedAt.toISOString() : null,
    import_id: row.importId,
  };
}
