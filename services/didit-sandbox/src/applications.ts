import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * The sandbox's tenants, from the applications file (SANDBOX_CONFIG, docs/OPERATIONS.md#didit-sandbox). A
 * workflow's kind decides the session kind: kyc and reusable_kyc sessions are "user", kyb sessions are
 * "business".
 */
const workflowSchema = z.object({
  workflow_id: z.uuid(),
  name: z.string().min(1),
  kind: z.enum(["kyc", "reusable_kyc", "kyb"]),
  version: z.number().int().positive().default(1),
});

const applicationSchema = z.object({
  application_id: z.uuid(),
  name: z.string().min(1),
  api_key: z.string().min(8),
  webhook_url: z.url().nullable().optional(),
  webhook_secret: z.string().min(8),
  deleted: z.boolean().default(false),
  workflows: z.array(workflowSchema).min(1),
});

const applicationsFileSchema = z.object({ applications: z.array(applicationSchema).min(1) });

export type SandboxWorkflow = z.infer<typeof workflowSchema>;
export type SandboxApplication = z.infer<typeof applicationSchema>;

export class ApplicationsFileError extends Error {}

export function loadApplications(path: string): SandboxApplication[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ApplicationsFileError(`cannot read applications file ${path}: ${(error as Error).message}`);
  }
  const parsed = applicationsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ApplicationsFileError(`invalid applications file ${path}:\n  ${problems.join("\n  ")}`);
  }
  const ids = new Set<string>();
  for (const application of parsed.data.applications) {
    if (ids.has(application.application_id)) {
      throw new ApplicationsFileError(`duplicate application_id ${application.application_id} in ${path}`);
    }
    ids.add(application.application_id);
  }
  return parsed.data.applications;
}

export function sessionKindOf(workflow: SandboxWorkflow): "user" | "business" {
  return workflow.kind === "kyb" ? "business" : "user";
}
