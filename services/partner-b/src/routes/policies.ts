import type { FastifyInstance } from "fastify";
import type { PartnerBContext } from "../context.js";

const decisionSchema = {
  type: "object",
  properties: { workflow_id: { type: "string" }, trust_review: { type: "boolean" } },
} as const;

/** `GET /v1/policies`: the import policy in force, so partners and operators can see what B trusts. */
export async function policyRoutes(app: FastifyInstance, ctx: PartnerBContext): Promise<void> {
  app.get(
    "/v1/policies",
    {
      schema: {
        response: {
          200: {
            type: "object",
            properties: {
              version: { type: "string" },
              description: { type: "string" },
              default: { anyOf: [decisionSchema, { type: "null" }] },
              rules: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    source: { type: "string" },
                    scope: { type: "string" },
                    workflow_id: { type: "string" },
                    trust_review: { type: "boolean" },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => ctx.policy.file,
  );
}
