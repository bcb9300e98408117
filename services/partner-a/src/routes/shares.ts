import { AppError, errorBodySchema } from "@share-broker/service-kit";
import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import type { PartnerAContext } from "../context.js";
import { shares } from "../db/schema/index.js";
import type { ShareRequest } from "../shares/accept-share.js";
import { SHARE_STATES, shareView, shareViewSchema } from "../shares/share-view.js";

interface ListQuery {
  status?: string;
  user_id?: string;
  cursor?: string;
  limit: number;
}

/**
 * The list cursor is the last row's (created_at, share_id), created_at in microseconds since the
 * epoch: JavaScript dates stop at milliseconds, and shares created in the same millisecond must
 * neither repeat nor vanish between pages.
 */
function encodeCursor(createdAtMicros: string, shareId: string): string {
  return Buffer.from(`${createdAtMicros}:${shareId}`).toString("base64url");
}

function decodeCursor(cursor: string): { micros: string; shareId: string } {
  const match = /^(\d{1,19}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(
    Buffer.from(cursor, "base64url").toString(),
  );
  if (!match) throw new AppError(400, "invalid_cursor", "cursor must come from next_cursor.");
  return { micros: match[1] as string, shareId: match[2] as string };
}

const createdAtMicros = sql<string>`(extract(epoch from ${shares.createdAt}) * 1000000)::bigint::text`;

/** The share view with the user it belongs to (partner-a's own user id). */
const shareWithUserSchema = {
  ...shareViewSchema,
  properties: { ...shareViewSchema.properties, user_id: { type: "string" } },
} as const;

export async function shareRoutes(app: FastifyInstance, ctx: PartnerAContext): Promise<void> {
  app.get(
    "/v1/shares",
    {
      schema: {
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            status: { type: "string", enum: [...SHARE_STATES] },
            user_id: { type: "string", minLength: 1, maxLength: 256 },
            cursor: { type: "string", pattern: "^[A-Za-z0-9_-]{1,200}$" },
            limit: { type: "integer", minimum: 1, maximum: 200, default: 50 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              shares: { type: "array", items: shareWithUserSchema },
              next_cursor: { type: ["string", "null"] },
            },
          },
          "4xx": errorBodySchema,
        },
      },
    },
    async (request) => {
      const query = request.query as ListQuery;
      const filters: SQL[] = [];
      if (query.status) filters.push(eq(shares.status, query.status));
      if (query.user_id) filters.push(eq(shares.userId, query.user_id));
      if (query.cursor) {
        const { micros, shareId } = decodeCursor(query.cursor);
        filters.push(
          sql`(${shares.createdAt}, ${shares.shareId}) < (timestamptz 'epoch' + ${micros}::bigint * interval '1 microsecond', ${shareId}::uuid)`,
        );
      }
      const rows = await ctx.db
        .select({ share: shares, createdAtMicros })
        .from(shares)
        .where(filters.length ? and(...filters) : undefined)
        .orderBy(desc(shares.createdAt), desc(shares.shareId))
        .limit(query.limit + 1);
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        shares: page.map(({ share }) => ({ ...shareView(share), user_id: share.userId })),
        next_cursor:
          rows.length > query.limit && last ? encodeCursor(last.createdAtMicros, last.share.shareId) : null,
      };
    },
  );

  app.post(
    "/v1/shares",
    {
      schema: {
        headers: {
          type: "object",
          properties: { "idempotency-key": { type: "string", minLength: 1, maxLength: 200 } },
        },
        body: {
          type: "object",
          required: ["consent_id"],
          additionalProperties: false,
          properties: {
            consent_id: { type: "string", format: "uuid" },
            recipient_ref: { type: "string", minLength: 1, maxLength: 256 },
            ttl_seconds: { type: "integer", minimum: 60, maximum: 86_400 },
          },
        },
        response: {
          202: {
            type: "object",
            properties: {
              share_id: { type: "string" },
              status: { type: "string" },
              audience: { type: "string" },
              expires_at: { type: ["string", "null"] },
            },
          },
          "4xx": errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { share, replayed } = await ctx.shares.accept({
        request: request.body as ShareRequest,
        idempotencyKey: request.headers["idempotency-key"] as string | undefined,
        requestId: request.id,
        defaultTtlSeconds: ctx.config.SHARE_TTL_SECONDS,
        now: ctx.clock.now(),
      });
      if (!replayed) ctx.dispatcher.wake();
      request.log.info({ share_id: share.shareId, replayed }, "share accepted");
      return reply.code(202).send({
        share_id: share.shareId,
        status: share.status,
        audience: share.audience,
        expires_at: share.tokenExpiresAt ? share.tokenExpiresAt.toISOString() : null,
      });
    },
  );

  app.get(
    "/v1/shares/:id",
    {
      schema: {
        params: { type: "object", required: ["id"], properties: { id: { type: "string", format: "uuid" } } },
        response: { 200: shareWithUserSchema, "4xx": errorBodySchema },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const [row] = await ctx.db.select().from(shares).where(eq(shares.shareId, id));
      if (!row) throw new AppError(404, "share_not_found", "No share with this id.");
      return { ...shareView(row), user_id: row.userId };
    },
  );
}
