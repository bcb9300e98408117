import { ApiKeyVerifier } from "@share-broker/service-kit";
import type { SandboxApplication, SandboxWorkflow } from "./applications.js";

/** Looks applications up by API key (in constant time) and by id, and workflows within one application. */
export class ApplicationDirectory {
  readonly #byId = new Map<string, SandboxApplication>();
  readonly #verifiers: { application: SandboxApplication; verifier: ApiKeyVerifier }[];

  constructor(applications: readonly SandboxApplication[]) {
    for (const application of applications) {
      this.#byId.set(application.application_id.toLowerCase(), application);
    }
    this.#verifiers = applications.map((application) => ({
      application,
      verifier: new ApiKeyVerifier([application.api_key]),
    }));
  }

  get all(): SandboxApplication[] {
    return [...this.#byId.values()];
  }

  /** The live application owning `apiKey`; a soft-deleted application's key counts as revoked. */
  byApiKey(apiKey: string): SandboxApplication | undefined {
    let found: SandboxApplication | undefined;
    // Every key is compared, so the answer time does not say which application (if any) matched.
    for (const { application, verifier } of this.#verifiers) {
      if (verifier.verify(apiKey)) found = application;
    }
    return found?.deleted ? undefined : found;
  }

  byId(applicationId: string): SandboxApplication | undefined {
    return this.#byId.get(applicationId.toLowerCase());
  }

  workflow(application: SandboxApplication, workflowId: string): SandboxWorkflow | undefined {
    const wanted = workflowId.toLowerCase();
    return application.workflows.find((workflow) => workflow.workflow_id.toLowerCase() === wanted);
  }

  /** Every configured secret, for the logger's scrubber. */
  secrets(): string[] {
    return this.all.flatMap((application) => [application.api_key, application.webhook_secret]);
  }
}
