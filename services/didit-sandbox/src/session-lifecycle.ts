import type { SessionStatus } from "@share-broker/didit";
import type { ApplicationDirectory } from "./application-directory.js";
import type { SandboxClock } from "./clock.js";
import { applyVerdict, generateResults } from "./kyc-data.js";
import { PackedBlocks } from "./packed-blocks.js";
import type { ClockScheduler } from "./scheduler.js";
import type { FeatureBlocks, SandboxSession, SessionStore } from "./store.js";
import type { WebhookDispatcher } from "./webhooks/deliveries.js";
import { statusUpdatedEvent } from "./webhooks/status-event.js";

const FINISHED = new Set<string>(["Approved", "Declined", "In Review"]);

export interface SessionLifecycleOptions {
  store: SessionStore;
  applications: ApplicationDirectory;
  clock: SandboxClock;
  scheduler: ClockScheduler;
  webhooks: WebhookDispatcher;
}

/**
 * Every status change goes through here: results are generated when a session finishes, feature
 * statuses follow the verdict, and a `status.updated` webhook goes out (docs/DIDIT.md#webhooks).
 */
export class SessionLifecycle {
  readonly #options: SessionLifecycleOptions;

  constructor(options: SessionLifecycleOptions) {
    this.#options = options;
  }

  /** Stores a new session and arranges its expiry at `expires_at`. */
  register(session: SandboxSession): void {
    this.#options.store.add(session);
    this.#options.scheduler.at(session.expires_at_ms, () => this.#expire(session.session_id));
  }

  /**
   * Moves a session to `status`. `blockOverrides` replace generated blocks (control API). Returns
   * whether the status changed; only a change emits a webhook.
   */
  changeStatus(
    session: SandboxSession,
    status: SessionStatus,
    blockOverrides: Partial<FeatureBlocks> = {},
  ): boolean {
    const { clock, webhooks, applications } = this.#options;
    const previous = session.status;
    session.status = status;
    const finished = FINISHED.has(status);
    if (finished || Object.keys(blockOverrides).length > 0) {
      let blocks = session.blocks.unpack();
      if (finished) {
        if (Object.values(blocks).every((block) => block === null)) {
          blocks = generateResults({
            sessionId: session.session_id,
            kind: session.workflow_kind,
            expectedDetails: session.expected_details,
            now: new Date(clock.now()),
          });
        }
        applyVerdict(blocks, session.workflow_kind, status);
      }
      session.blocks = PackedBlocks.of(Object.assign(blocks, blockOverrides));
    }
    if (previous === status) return false;
    const application = applications.byId(session.application_id);
    if (application) webhooks.dispatch(application, statusUpdatedEvent(session, clock.nowSeconds()));
    return true;
  }

  #expire(sessionId: string): void {
    const session = this.#options.store.get(sessionId);
    if (!session || this.#options.clock.now() < session.expires_at_ms) return;
    if (session.status === "Not Started") this.changeStatus(session, "Expired");
    else if (["In Progress", "Resubmitted", "Awaiting User"].includes(session.status)) {
      this.changeStatus(session, "Abandoned");
    }
  }
}
