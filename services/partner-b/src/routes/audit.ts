import { AppError, errorBodySchema } from "@share-broker/service-kit";
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import type { PartnerBContext } from "../context.js";
import { auditEvents } from "../db/schema/index.js";

const nullable = { type: ["string", "null"] } as const;

/** `GET /v1/audit`: append-only events, newest first, with an opaque cursor. */
export async function auditRoutes(app: FastifyInstance, ctx: PartnerBContext): Promise<void> {
  app.get(
    "/v1/audit",
    {
      schema: {
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            user_pseudonym: { type: "string", minLength: 1, maxLength: 256 },
            share_id: { type: "string", minLength: 1, maxLength: 128 },
            import_id: { type: "string", format: "uuid" },
            action: { type: "string", minLength: 1, maxLength: 100 },
            cursor: { type: "string", pattern: "^[0-9]{1,19}$" },
            limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              events: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    id: { type: "string" },
                    occurred_at: { type: "string" },
                    action: { type: "string" },
                    outcome: { type: "string" },
                    user_pseudonym: nullable,
                    source_partner: nullable,
                    purpose: nullable,
                    scope: nullable,
                    share_id: nullable,
                    import_id: nullable,
                    token_id: nullable,
                    token_expires_at: nullable,
                    request_id: nullable,
                    details: { type: "object", additionalProperties: true },
                  },
                },
              },
              next_cursor: nullable,
            },
          },
          "4xx": errorBodySchema,
        },
      },
    },
    async (request) => {
      const query = request.query as {
        user_pseudonym?: string;
        share_id?: string;
        import_id?: string;
        action?: string;
        cursor?: string;
        limit: number;
      };
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
          details: row.details as Record<string, unknown>,
        })),
        next_cursor: rows.length > query.limit ? (page.at(-1)?.id.toString() ?? null) : null,
      };
    },
  );
}
