import { partnerB } from "@share-broker/contracts";
import { typedRoutes } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import type { PartnerBContext } from "../context.js";

/** `GET /v1/policies`: the import policy in force, so partners and operators can see what B trusts. */
export async function policyRoutes(app: FastifyInstance, ctx: PartnerBContext): Promise<void> {
  typedRoutes(app).route({ ...partnerB.getPolicy, handler: async () => ctx.policy.file });
}
