import { partnerB } from "@share-broker/contracts";
import { AppError, typedRoutes } from "@share-broker/service-kit";
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import type { PartnerBContext } from "../context.js";
import { auditEvents } from "../db/schema/index.js";

/** `GET /v1/audit`: append-only events, newest first, with an opaque cursor. */
export async function auditRoutes(app: FastifyInstance, ctx: PartnerBContext): Promise<void> {
  typedRoutes(app).route({
    ...partnerB.listAudit,
    handler: async (request) => {
      const query = request.query;
      const filters: SQL[] = [];
      if (query.user_pseudonym) filters.push(eq(auditEvents.userPseudonym, query.user_pseudonym));
      if (query.share_id) filters.push(eq(auditEvents.shareId, query.share_id));
      if (query.import_id) filters.push(eq(auditEvents.importId, query.import_id));
      if (query.action) filters.push(eq(auditEvents.action, query.action));
      if (query.cursor) {
        const cursor = BigInt(query.cursor);
        if (cursor <= 0n) throw new AppError(400, "invalid_cursor", "cursor must come from next_cursor.");
        filters.push(lt(auditEvents.id, cursor));
      }
      const rows = await ctx.db
        .select()
        .from(auditEvents)
        .where(filters.length ? and(...filters) : undefined)
        .orderBy(desc(auditEvents.id))
        .limit(query.limit + 1);
      const page = rows.slice(0, query.limit);
      return {
        events: page.map((row) => ({
          id: row.id.toString(),
          occurred_at: row.occurredAt.toISOString(),
          action: row.action,
          outcome: row.outcome,
          user_pseudonym: row.userPseudonym,
          source_partner: row.sourcePartner,
          purpose: row.purpose,
          scope: row.scope,
          share_id: row.shareId,
          import_id: row.importId,
          token_id: row.tokenId,
          token_expires_at: row.tokenExpiresAt ? row.tokenExpiresAt.toISOString() : null,
          request_id: row.requestId,
          principal: row.principal,
          details: row.details as Record<string, unknown>,
        })),
        next_cursor: rows.length > query.limit ? (page.at(-1)?.id.toString() ?? null) : null,
      };
    },
  });
}
