import { partnerA } from "@share-broker/contracts";
import { upstreamFailureAnswer } from "@share-broker/didit";
import { AppError, answerError, typedRoutes } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import type { PartnerAContext } from "../context.js";
import { verificationSessions } from "../db/schema/index.js";
import { latestSessionOf } from "../verifications/latest-session.js";

export async function verificationRoutes(app: FastifyInstance, ctx: PartnerAContext): Promise<void> {
  const routes = typedRoutes(app);
  routes.route({
    ...partnerA.createVerification,
    handler: async (request, reply) => {
      const { user_id, kind } = request.body;
      const workflowId =
        kind === "first"
          ? ctx.config.DIDIT_FIRST_VERIFICATION_WORKFLOW_ID
          : ctx.config.DIDIT_REUSABLE_KYC_WORKFLOW_ID;
      let created: Awaited<ReturnType<typeof ctx.didit.createSession>>;
      try {
        created = await ctx.didit.createSession({ workflow_id: workflowId, vendor_data: user_id });
      } catch (error) {
        const answer = upstreamFailureAnswer(error);
        throw answer ? answerError(answer, error) : error;
      }
      const now = new Date();
      await ctx.db.transaction(async (tx) => {
        // Didit returns the same unfinished session for the same vendor_data, hence the upsert.
        await tx
          .insert(verificationSessions)
          .values({
            sessionId: created.session_id,
            userId: user_id,
            kind,
            workflowId,
            status: created.status,
            url: created.url,
            // The creation answer is the initial state, not an event: any webhook for it is newer.
            statusAt: new Date(0),
          })
          .onConflictDoUpdate({
            target: verificationSessions.sessionId,
            set: { url: created.url, updatedAt: now },
          });
        await ctx.audit.record(tx, {
          action: "verification.created",
          outcome: created.status,
          userId: user_id,
          requestId: request.id,
          details: { session_id: created.session_id, kind },
        });
      });
      return reply.code(201).send({
        session_id: created.session_id,
        url: created.url,
        status: created.status,
        workflow_id: workflowId,
      });
    },
  });

  routes.route({
    ...partnerA.getUserVerification,
    handler: async (request) => {
      const { user_id } = request.params;
      const session = await latestSessionOf(ctx.db, user_id);
      if (!session)
        throw new AppError(404, "verification_not_found", "This user has no verification session.");
      return {
        user_id,
        session_id: session.sessionId,
        status: session.status,
        updated_at: session.updatedAt.toISOString(),
      };
    },
  });
}
