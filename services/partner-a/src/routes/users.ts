import { partnerA } from "@share-broker/contracts";
import { typedRoutes } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import type { PartnerAContext } from "../context.js";
import { eraseUser } from "../users/erase-user.js";

/** `DELETE /v1/users/{user_id}`: the erasure request (docs/OPERATIONS.md#erasure-request). */
export async function userRoutes(app: FastifyInstance, ctx: PartnerAContext): Promise<void> {
  typedRoutes(app).route({
    ...partnerA.eraseUser,
    handler: async (request) => eraseUser(ctx, request.params.user_id, request.id),
  });
}
