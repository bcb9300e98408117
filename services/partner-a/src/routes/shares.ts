import { partnerA } from "@share-broker/contracts";
import { AppError, typedRoutes } from "@share-broker/service-kit";
import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import type { PartnerAContext } from "../context.js";
import { shares } from "../db/schema/index.js";
import { shareView } from "../shares/share-view.js";

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

export async function shareRoutes(app: FastifyInstance, ctx: PartnerAContext): Promise<void> {
  const routes = typedRoutes(app);
  routes.route({
    ...partnerA.listShares,
    handler: async (request) => {
      const query = request.query;
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
        shares: page.map(({ share }) => shareView(share)),
        next_cursor:
          rows.length > query.limit && last ? encodeCursor(last.createdAtMicros, last.share.shareId) : null,
      };
    },
  });

  routes.route({
    ...partnerA.createShare,
    handler: async (request, reply) => {
      const { share, replayed } = await ctx.shares.accept({
        request: request.body,
        idempotencyKey: request.headers["idempotency-key"],
        requestId: request.id,
        principal: request.principal?.name ?? null,
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
  });

  routes.route({
    ...partnerA.getShare,
    handler: async (request) => {
      const { id } = request.params;
      const [row] = await ctx.db.select().from(shares).where(eq(shares.shareId, id));
      if (!row) throw new AppError(404, "share_not_found", "No share with this id.");
      return shareView(row);
    },
  });
}
