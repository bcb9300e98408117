import { randomBytes } from "node:crypto";
import { ChannelTools } from "./channel-tools.js";
import { PartnerAClient, PartnerBClient, SandboxControlClient } from "./clients.js";
import type { HarnessConfig } from "./config.js";
import { type PartnerBControls, PartnerBSwitch } from "./controls.js";
import { DiditAccess } from "./didit-access.js";
import type { ScenarioContext } from "./scenario.js";

/** What every scenario of one run shares: clients, connections, the run id. Close it once. */
export class StackUnderTest {
  readonly runId = randomBytes(3).toString("hex");
  readonly a: PartnerAClient;
  readonly b: PartnerBClient;
  readonly sandbox: SandboxControlClient | undefined;
  readonly didit: DiditAccess;
  readonly channel: ChannelTools;
  readonly partnerB: PartnerBSwitch;
  #ids = 0;

  constructor(
    readonly config: HarnessConfig,
    controls: PartnerBControls = {},
  ) {
    this.a = new PartnerAClient(config);
    this.b = new PartnerBClient(config);
    this.sandbox =
      config.sandboxUrl && config.sandboxControlKey
        ? new SandboxControlClient(config.sandboxUrl, config.sandboxControlKey)
        : undefined;
    this.didit = new DiditAccess(config);
    this.channel = new ChannelTools(config);
    this.partnerB = new PartnerBSwitch(controls, config.partnerBUrl);
  }

  /** A context for one scenario (or one load run); `scope` tags the ids it makes. */
  contextFor(scope: string, hooks: ContextHooks): ScenarioContext {
    const sandbox = this.sandbox;
    return {
      config: this.config,
      a: this.a,
      b: this.b,
      get sandbox(): SandboxControlClient {
        if (!sandbox)
          throw new Error("this step needs the sandbox control API (SANDBOX_URL, SANDBOX_CONTROL_KEY)");
        return sandbox;
      },
      didit: this.didit,
      channel: this.channel,
      partnerB: this.partnerB,
      signal: hooks.signal,
      uniqueId: (label) => {
        this.#ids += 1;
        return `hx-${this.runId}-${scope}-${label}-${this.#ids}`;
      },
      step: hooks.step,
      note: hooks.note,
      defer: hooks.defer,
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.didit.close(), this.channel.close()]);
  }
}

export interface ContextHooks {
  signal: AbortSignal;
  step(description: string): void;
  note(text: string): void;
  defer(cleanup: () => Promise<unknown>): void;
}
