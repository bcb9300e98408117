import { AppError, errorBodySchema } from "@share-broker/service-kit";
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import type { PartnerBContext } from "../context.js";
import { imports } from "../db/schema/index.js";
import { IMPORT_STATES } from "../imports/import-row.js";
import { importView, importViewSchema } from "../imports/import-view.js";
import { type ReviewDecision, requestReview } from "../imports/request-review.js";

const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", format: "uuid" } },
} as const;

interface ListQuery {
  vendor_data?: string;
  source?: string;
  status?: string;
  share_id?: string;
  cursor?: string;
  limit: number;
}

/** `/v1/imports`: what partner-b imported, and compliance reviews of what landed "In Review". */
export async function importRoutes(app: FastifyInstance, ctx: PartnerBContext): Promise<void> {
  app.get(
    "/v1/imports",
    {
      schema: {
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            vendor_data: { type: "string", minLength: 1, maxLength: 1000 },
            source: { type: "string", minLength: 1, maxLength: 128 },
            status: { type: "string", enum: [...IMPORT_STATES] },
            share_id: { type: "string", minLength: 1, maxLength: 128 },
            cursor: { type: "string", pattern: "^[0-9]{1,19}$" },
            limit: { type: "integer", minimum: 1, maximum: 200, default: 50 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              imports: { type: "array", items: importViewSchema },
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
  );

  app.get(
    "/v1/imports/:id",
    { schema: { params: idParams, response: { 200: importViewSchema, "4xx": errorBodySchema } } },
    async (request) => {
      const { id } = request.params as { id: string };
      const [row] = await ctx.db.select().from(imports).where(eq(imports.importId, id));
      if (!row) throw new AppError(404, "import_not_found", "No import with this id.");
      return importView(row);
    },
  );

  app.post(
    "/v1/imports/:id/review",
    {
      schema: {
        params: idParams,
        body: {
          type: "object",
          required: ["decision"],
          additionalProperties: false,
          properties: {
            decision: { type: "string", enum: ["Approved", "Declined"] },
            comment: { type: "string", minLength: 1, maxLength: 2000 },
          },
        },
        response: {
          202: {
            type: "object",
            properties: {
              import_id: { type: "string" },
              decision: { type: "string" },
              didit_status: { type: "string" },
            },
          },
          "4xx": errorBodySchema,
          "5xx": errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = request.body as { decision: ReviewDecision; comment?: string };
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
  );
}
