import { writeFileSync } from "node:fs";

// Also `@share-broker/testing/world-files`, for the bench: the files a world of processes needs,
// without the test runner the package's main entry brings along.
export { freePort } from "./processes.js";

/** A Didit application the sandbox serves, as a test world declares it. */
export interface WorldApplication {
  id: string;
  apiKey: string;
  webhookSecret: string;
}

export interface WorldWorkflow {
  workflow_id: string;
  name: string;
  kind: string;
}

/** One entry of the sandbox's applications file (SANDBOX_CONFIG). */
export function sandboxApplication(
  app: WorldApplication,
  name: string,
  webhookUrl: string | null,
  workflows: WorldWorkflow[],
) {
  return {
    application_id: app.id,
    name,
    api_key: app.apiKey,
    webhook_url: webhookUrl,
    webhook_secret: app.webhookSecret,
    workflows,
  };
}

/** One entry of the partner registry (PARTNERS_FILE), with the queue names every world uses. */
export function partnerRegistryEntry(partnerId: string, applicationId: string, publicKeysFile: string) {
  return {
    partner_id: partnerId,
    name: partnerId,
    didit_application_id: applicationId,
    inbox_queue: `inbox-${partnerId}`,
    results_queue: `results-${partnerId}`,
    public_keys_file: publicKeysFile,
  };
}

export function writeJsonFile(file: string, value: unknown): string {
  writeFileSync(file, JSON.stringify(value));
  return file;
}
