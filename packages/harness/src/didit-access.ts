import { DiditClient } from "@share-broker/didit";
import type { HarnessConfig } from "./config.js";

/**
 * Didit seen with the partners' own application keys (when configured): partner B's key counts the
 * imports Didit holds, the truth of the one-import rule; partner A's mints tokens for forged offers.
 */
export class DiditAccess {
  readonly #clients = new Map<string, DiditClient>();

  constructor(private readonly config: HarnessConfig) {}

  #client(apiKey: string | undefined, setting: string): DiditClient {
    if (!apiKey || !this.config.diditBaseUrl) {
      throw new Error(`${setting} and DIDIT_BASE_URL (or SANDBOX_URL) are needed for this step`);
    }
    let client = this.#clients.get(setting);
    if (!client) {
      client = new DiditClient({ baseUrl: this.config.diditBaseUrl, apiKey, maxRetries: 1 });
      this.#clients.set(setting, client);
    }
    return client;
  }

  get canCountImports(): boolean {
    return Boolean(this.config.partnerBDiditKey && this.config.diditBaseUrl);
  }

  partnerA(): DiditClient {
    return this.#client(this.config.partnerADiditKey, "SANDBOX_PARTNER_A_DIDIT_KEY");
  }

  /** Sessions imported (shared_from_session set) into partner B's application for a vendor_data. */
  async importedCopies(vendorData: string): Promise<number> {
    const page = await this.#client(this.config.partnerBDiditKey, "SANDBOX_PARTNER_B_DIDIT_KEY").listSessions(
      {
        vendor_data: vendorData,
      },
    );
    return page.results.filter((session) => session.shared_from_session).length;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((client) => client.close()));
    this.#clients.clear();
  }
}
