import {
  checkDiditCopies,
  scopeWithTrustReview,
  seconds,
  shareReaches,
  singleImportAtB,
  startShare,
} from "../flows.js";
import { check, checkEqual, type Scenario, type ScenarioContext } from "../scenario.js";

const IMPORT_PATH = "/v3/session/import-shared/";
const FAILURES = 2;

/**
 * Didit fails partner-b's import call twice (the sandbox's faults are global, which is why scenarios
 * run one at a time), then answers normally: the share must still end imported, exactly once.
 */
async function importThroughFaults(
  ctx: ScenarioContext,
  fault: { status: number; retry_after_seconds?: number },
): Promise<{ attempts: number; waitedSeconds: number | undefined }> {
  const scope = await scopeWithTrustReview(ctx, true);
  ctx.step(`making Didit's import-shared answer ${fault.status} ${FAILURES} times`);
  const added = await ctx.sandbox.addFault({ method: "POST", path: IMPORT_PATH, times: FAILURES, ...fault });
  ctx.defer(() => ctx.sandbox.removeFault(added.fault_id));
  const share = await startShare(ctx, { scope, label: `didit-${fault.status}` });
  const atA = await shareReaches(ctx, share.shareId, "imported", 60_000);
  checkEqual(atA.import?.session_status, "Approved", "Didit status partner-a was told");
  const applied = (await ctx.sandbox.fault(added.fault_id))?.applied;
  checkEqual(applied, FAILURES, `import-shared calls that got the injected ${fault.status}`);
  const atB = await singleImportAtB(ctx, share.shareId);
  checkEqual(atB.status, "imported", "partner-b's import status");
  check(
    atB.attempts >= FAILURES + 1,
    `partner-b recorded ${atB.attempts} import attempt(s); expected at least ${FAILURES + 1} (${FAILURES} failed, then success)`,
  );
  await checkDiditCopies(ctx, share.userRef, 1);
  return { attempts: atB.attempts, waitedSeconds: seconds(atB.received_at, atB.decided_at) };
}

export const didit503Recovery: Scenario = {
  name: "didit-503-recovery",
  expectation:
    "Didit answers partner-b's import with 503 twice; partner-b retries and the share ends imported exactly once",
  requires: ["sandbox"],
  budgetSeconds: 90,
  async run(ctx) {
    const { attempts, waitedSeconds } = await importThroughFaults(ctx, { status: 503 });
    ctx.note(`imported on attempt ${attempts} after ${waitedSeconds?.toFixed(1)} s`);
  },
};

const RETRY_AFTER_SECONDS = 1;

export const didit429RetryAfter: Scenario = {
  name: "didit-429-retry-after",
  expectation:
    "Didit answers partner-b's import with 429 and Retry-After: 1 twice; partner-b waits as told and the share ends imported exactly once",
  requires: ["sandbox"],
  budgetSeconds: 90,
  async run(ctx) {
    const { attempts, waitedSeconds } = await importThroughFaults(ctx, {
      status: 429,
      retry_after_seconds: RETRY_AFTER_SECONDS,
    });
    // Timestamps are whole milliseconds from partner-b's clock; allow a little rounding.
    const least = FAILURES * RETRY_AFTER_SECONDS - 0.2;
    check(
      waitedSeconds !== undefined && waitedSeconds >= least,
      `partner-b imported ${waitedSeconds?.toFixed(2)} s after receiving the offer; Retry-After asked it to wait at least ${FAILURES * RETRY_AFTER_SECONDS} s in all`,
    );
    ctx.note(
      `imported on attempt ${attempts} after ${waitedSeconds?.toFixed(1)} s (Retry-After ${RETRY_AFTER_SECONDS} s)`,
    );
  },
};
