import { partnerB } from "@share-broker/contracts";
import { AppError, typedRoutes } from "@share-broker/service-kit";
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import type { PartnerBContext } from "../context.js";
import { imports } from "../db/schema/index.js";
import { eraseImport } from "../imports/erase-import.js";
import { importView } from "../imports/import-view.js";
import { requestReview } from "../imports/request-review.js";

/** `/v1/imports`: what partner-b imported, and compliance reviews of what landed "In Review". */
export async function importRoutes(app: FastifyInstance, ctx: PartnerBContext): Promise<void> {
  const routes = typedRoutes(app);
  routes.route({
    ...partnerB.listImports,
    handler: async (request) => {
      const query = request.query;
      const filters: SQL[] = [];
      if (query.vendor_data) filters.push(eq(imports.vendorData, query.vendor_data));
      if (query.source) filters.push(eq(imports.sourcePartner, query.source));
      if (query.status) filters.push(eq(imports.status, query.status));
      if (query.share_id) filters.push(eq(imports.shareId, query.share_id));
      if (query.cursor) {
        const cursor = BigInt(query.cursor);
        if (cursor <= 0n) throw new AppError(400, "invalid_cursor", "cursor must come from next_cursor.");
        filters.push(lt(imports.seq, cursor));
      }
      const rows = await ctx.db
        .select()
        .from(imports)
        .where(filters.length ? and(...filters) : undefined)
        .orderBy(desc(imports.seq))
        .limit(query.limit + 1);
      const page = rows.slice(0, query.limit);
      return {
        imports: page.map(importView),
        next_cursor: rows.length > query.limit ? (page.at(-1)?.seq.toString() ?? null) : null,
      };
    },
  });

  routes.route({
    ...partnerB.getImport,
    handler: async (request) => {
      const { id } = request.params;
      const [row] = await ctx.db.select().from(imports).where(eq(imports.importId, id));
      if (!row) throw new AppError(404, "import_not_found", "No import with this id.");
      return importView(row);
    },
  });

  routes.route({
    ...partnerB.eraseImport,
    handler: async (request) => eraseImport(ctx, request.params.id, request.id),
  });

  routes.route({
    ...partnerB.reviewImport,
    handler: async (request, reply) => {
      const { id } = request.params;
      const body = request.body;
      const row = await requestReview(ctx.db, ctx.didit, ctx.audit, {
        importId: id,
        decision: body.decision,
        requestId: request.id,
        ...(body.comment ? { comment: body.comment } : {}),
      });
      request.log.info(
        { import_id: id, share_id: row.shareId, decision: body.decision },
        "review sent to Didit",
      );
      // The decided status arrives by webhook; until then Didit's status is still In Review.
      return reply.code(202).send({ import_id: id, decision: body.decision, didit_status: row.diditStatus });
    },
  });
}
