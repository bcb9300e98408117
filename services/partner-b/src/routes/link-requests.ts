import { partnerB } from "@share-broker/contracts";
import { AppError, typedRoutes } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import type { PartnerBContext } from "../context.js";
import { createLinkRequest, findLinkRequest } from "../links/link-requests.js";

/**
 * `/v1/link-requests`: single-use codes partner-b issues for its own users. A share offer must
 * carry one for partner-b to import it, and the import is for the user the code was issued for.
 */
export async function linkRequestRoutes(app: FastifyInstance, ctx: PartnerBContext): Promise<void> {
  const routes = typedRoutes(app);
  routes.route({
    ...partnerB.createLinkRequest,
    handler: async (request, reply) => {
      const { user_ref: userRef, source } = request.body;
      if (source !== undefined && (source === ctx.self.partnerId || !ctx.registry.find(source))) {
        throw new AppError(
          400,
          "unknown_source",
          `"${source}" is not a configured partner that shares with us.`,
        );
      }
      const created = await createLinkRequest(ctx.db, ctx.audit, {
        userRef,
        source: source ?? null,
        ttlSeconds: ctx.config.LINK_REQUEST_TTL_SECONDS,
        requestId: request.id,
      });
      request.log.info({ link_id: created.link_id, source: source ?? null }, "link request created");
      return reply.code(201).send(created);
    },
  });

  routes.route({
    ...partnerB.getLinkRequest,
    handler: async (request) => {
      const found = await findLinkRequest(ctx.db, request.params.id);
      if (!found) throw new AppError(404, "link_request_not_found", "No link request with this id.");
      return found;
    },
  });
}
