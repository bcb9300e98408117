import { z } from "zod";

/** Routes every service has: liveness, readiness, and Didit's signed webhooks on the partners. */

export const healthSchema = z.object({ status: z.literal("ok") }).meta({ examples: [{ status: "ok" }] });

/** What the public port says of readiness: no dependency names or error text for strangers. */
export const publicReadinessSchema = z
  .object({ status: z.enum(["ready", "unavailable"]) })
  .meta({ id: "PublicReadiness", examples: [{ status: "ready" }, { status: "unavailable" }] });

/** The ops port's readiness: each dependency and why it is not ready. */
export const readinessSchema = z
  .object({
    status: z.enum(["ready", "not_ready"]),
    checks: z.record(z.string(), z.string()).describe('"ok", or why the dependency is not ready.'),
  })
  .meta({
    id: "Readiness",
    examples: [{ status: "ready", checks: { postgres: "ok", redis: "ok" } }],
  });

export const webhookAnswerSchema = z
  .object({ status: z.string().describe("What the event did: applied, duplicate, stale, ignored...") })
  .meta({ examples: [{ status: "applied" }] });
