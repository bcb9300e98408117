import { readFile } from "node:fs/promises";
import { z } from "zod";

const decisionSchema = z.object({
  workflow_id: z.uuid(),
  trust_review: z.boolean(),
});

const ruleSchema = decisionSchema.extend({
  /** The sharing partner's id, as in the partner registry. */
  source: z.string().min(1),
  /** The consent scope the offer carries, compared exactly (e.g. "kyc", "kyc+aml"). */
  scope: z.string().min(1),
});

export const policyFileSchema = z
  .object({
    version: z.string().min(1).max(100),
    description: z.string().optional(),
    /** What applies when no rule matches; null refuses offers without a rule. */
    default: decisionSchema.nullable(),
    rules: z.array(ruleSchema),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    for (const [index, rule] of file.rules.entries()) {
      const key = JSON.stringify([rule.source, rule.scope]);
      if (seen.has(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["rules", index],
          message: `a second rule for source "${rule.source}" and scope "${rule.scope}"`,
        });
      }
      seen.add(key);
    }
  });

export type PolicyFile = z.infer<typeof policyFileSchema>;

/** What partner-b does with an offer: which of its workflows receives the copy, and whether to trust A's verdict. */
export interface ImportDecision {
  workflowId: string;
  trustReview: boolean;
  policyVersion: string;
  /** "rule" when a (source, scope) rule matched, "default" otherwise. */
  matched: "rule" | "default";
}

export class PolicyFileError extends Error {
  override name = "PolicyFileError";
}

/**
 * partner-b's import policy for (source partner, scope): trust_review true keeps the sharer's
 * verdict (instant onboarding), false lands the copy in "In Review" for B's compliance team.
 */
export class ImportPolicy {
  readonly #rules: Map<string, PolicyFile["rules"][number]>;

  constructor(readonly file: PolicyFile) {
    this.#rules = new Map(file.rules.map((rule) => [JSON.stringify([rule.source, rule.scope]), rule]));
  }

  get version(): string {
    return this.file.version;
  }

  /** The decision for an offer, or undefined when no rule matches and the default refuses. */
  decide(source: string, scope: string): ImportDecision | undefined {
    const rule = this.#rules.get(JSON.stringify([source, scope]));
    const chosen = rule ?? this.file.default;
    if (!chosen) return undefined;
    return {
      workflowId: chosen.workflow_id,
      trustReview: chosen.trust_review,
      policyVersion: this.file.version,
      matched: rule ? "rule" : "default",
    };
  }
}

export async function loadImportPolicy(path: string): Promise<ImportPolicy> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new PolicyFileError(`cannot read the import policy file ${path}: ${(error as Error).message}`);
  }
  const parsed = policyFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`,
    );
    throw new PolicyFileError(`invalid import policy file ${path}: ${problems.join("; ")}`);
  }
  return new ImportPolicy(parsed.data);
}
