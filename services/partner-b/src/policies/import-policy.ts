import { readFile } from "node:fs/promises";
import { importPolicySchema } from "@share-broker/contracts";
import type { z } from "zod";

/** The policy file has the shape `GET /v1/policies` answers with. */
export const policyFileSchema = importPolicySchema;

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
