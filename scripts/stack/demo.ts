import { randomBytes } from "node:crypto";
import type { StackConfig } from "./config.js";
import type { StackOutput } from "./logs.js";

/**
 * One share end to end through the public APIs, as a partner's backend would drive it, printing
 * each step with where to look. Returns whether the share ended `imported` at both sides.
 */

const FINISHED = new Set(["Approved", "Declined", "In Review"]);
const SHARE_TERMINAL = new Set(["imported", "rejected", "expired", "failed", "cancelled"]);
const IMPORT_TERMINAL = new Set(["imported", "rejected", "failed"]);

export interface DemoOptions {
  /** Wait for a person to finish the hosted page instead of finishing it through the control API. */
  interactive: boolean;
  timeoutMs?: number;
}

class DemoFailure extends Error {}

interface AuditEvent {
  id: string;
  action: string;
  outcome: string;
  token_id: string | null;
  token_expires_at: string | null;
}

function client(baseUrl: string, key: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: (await response.json().catch(() => ({}))) as T };
  };
}

async function expectStatus<T>(
  call: Promise<{ status: number; body: T }>,
  status: number,
  what: string,
): Promise<T> {
  const result = await call;
  if (result.status !== status) {
    throw new DemoFailure(`${what} answered ${result.status}: ${JSON.stringify(result.body)}`);
  }
  return result.body;
}

/** Polls `check` every 100 ms until it returns a value; a DemoFailure from `check` ends it at once. */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof DemoFailure) throw error;
      last = ` (last error: ${(error as Error).message})`;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new DemoFailure(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last}`);
}

export async function runDemo(
  config: StackConfig,
  output: StackOutput,
  options: DemoOptions,
): Promise<boolean> {
  const say = (text: string, emphasis = false) => output.print("demo", text, emphasis);
  const a = client(config.partnerA.url, config.keys.partnerA);
  const b = client(config.partnerB.url, config.keys.partnerB);
  const control = client(config.sandbox.url, config.keys.sandboxControl);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = Date.now();
  const userId = `demo-user-${randomBytes(3).toString("hex")}`;
  const customerRef = `demo-customer-${randomBytes(3).toString("hex")}`;
  let shareId: string | undefined;
  let hostedUrl: string | undefined;

  say(`demo share: ${userId} verifies at partner-a, then shares the verification with partner-b`, true);
  try {
    const session = await expectStatus<{ session_id: string; url: string; status: string }>(
      a("POST", "/v1/verifications", { user_id: userId, kind: "first" }),
      201,
      "POST /v1/verifications",
    );
    hostedUrl = session.url;
    say(`[1/7] verification session created at Didit: ${session.session_id} (${session.status})`, true);
    say(`      hosted page: ${session.url}`);

    let outcome = "Approved";
    if (options.interactive) {
      say("      open the hosted page in a browser and choose an outcome; waiting for you…", true);
      const finished = await until("the hosted page to be finished", 30 * 60_000, async () => {
        const found = await a<{ status?: string }>("GET", `/v1/users/${userId}/verification`);
        return found.body.status && FINISHED.has(found.body.status) ? found.body.status : undefined;
      });
      outcome = finished;
      say(`[2/7] the user finished the hosted page: ${outcome}`, true);
    } else {
      await expectStatus(
        control("POST", `/sandbox/sessions/${session.session_id}/complete`, { status: outcome }),
        200,
        "the sandbox control API",
      );
      say(
        `[2/7] the user finished the hosted page: ${outcome} (done here through the sandbox control API)`,
        true,
      );
    }
    await until(`partner-a to receive Didit's webhook (${outcome})`, timeoutMs, async () => {
      const found = await a<{ status?: string }>("GET", `/v1/users/${userId}/verification`);
      return found.body.status === outcome ? true : undefined;
    });
    say(`      partner-a received Didit's signed webhook: the user's verification is ${outcome}`);

    // partner-b binds the share to its own customer: a single-use code the user carries to partner-a.
    const link = await expectStatus<{ link_id: string; code: string; expires_at: string }>(
      b("POST", "/v1/link-requests", { user_ref: customerRef, source: "partner-a" }),
      201,
      "POST /v1/link-requests",
    );
    say(
      `      partner-b issued a link code for its customer ${customerRef} (link request ${link.link_id}, until ${link.expires_at}); the user brings it to partner-a`,
    );
    const consent = await expectStatus<{ consent_id: string; expires_at: string }>(
      a("POST", "/v1/consents", {
        user_id: userId,
        audience: "partner-b",
        purpose: "onboarding",
        scope: "kyc",
        link_code: link.code,
        evidence: { method: "stack-demo", text_version: "v1" },
      }),
      201,
      "POST /v1/consents",
    );
    say(
      `[3/7] consent recorded: ${consent.consent_id} (to partner-b, purpose onboarding, scope kyc, until ${consent.expires_at})`,
      true,
    );

    const accepted = await expectStatus<{ share_id: string; status: string }>(
      a("POST", "/v1/shares", { consent_id: consent.consent_id }),
      202,
      "POST /v1/shares",
    );
    const id = accepted.share_id;
    shareId = id;
    say(`[4/7] share ${accepted.status}: ${id}`, true);
    say(`      console: ${config.console.url}/?share=${id}`);

    // The dispatcher can mint and send within milliseconds: partner-a's audit trail tells each step.
    const printed = new Set<string>();
    await until("the share to be minted and sent", timeoutMs, async () => {
      const trail = await a<{ events: AuditEvent[] }>("GET", `/v1/audit?share_id=${id}`);
      for (const event of [...trail.body.events].reverse()) {
        if (printed.has(event.id)) continue;
        printed.add(event.id);
        if (event.action === "share.minted") {
          say(
            `[5/7] minted: Didit issued a share token for partner-b (token id ${event.token_id}, expires ${event.token_expires_at})`,
            true,
          );
        } else if (event.action === "share.sent") {
          say(`      sent: sealed offer on partner-b's inbox queue (${event.outcome})`, true);
        } else if (event.action === "share.failed" || event.action === "share.cancelled") {
          throw new DemoFailure(`the share ${event.action.split(".")[1]}: ${event.outcome}`);
        }
      }
      return trail.body.events.some((event) => event.action === "share.sent") ? true : undefined;
    });

    interface Import {
      import_id: string;
      status: string;
      reason: string | null;
      vendor_data: string | null;
      policy: { version: string | null; trust_review: boolean | null } | null;
      didit: { session_id: string; status: string | null } | null;
    }
    const imported = await until("partner-b's import", timeoutMs, async () => {
      const found = await b<{ imports: Import[] }>("GET", `/v1/imports?share_id=${id}`);
      const first = found.body.imports?.[0];
      return first && IMPORT_TERMINAL.has(first.status) ? first : undefined;
    });
    say(
      `[6/7] at partner-b: import ${imported.import_id} is ${imported.status}${imported.reason ? ` (${imported.reason})` : ""}; ` +
        `its Didit session ${imported.didit?.session_id ?? "none"} is ${imported.didit?.status ?? "unknown"}` +
        (imported.vendor_data ? ` for its customer ${imported.vendor_data}` : "") +
        (imported.policy
          ? ` (policy ${imported.policy.version}, trust_review ${imported.policy.trust_review})`
          : ""),
      true,
    );

    interface Share {
      status: string;
      reason: string | null;
      import: { status: string; session_status: string | null; reason: string | null } | null;
    }
    const result = await until("the result at partner-a", timeoutMs, async () => {
      const found = await a<Share>("GET", `/v1/shares/${id}`);
      return SHARE_TERMINAL.has(found.body.status) ? found.body : undefined;
    });
    say(
      `[7/7] at partner-a: share ${id} is ${result.status}; partner-b reported import ${result.import?.status ?? "none"}` +
        `, Didit status ${result.import?.session_status ?? "unknown"}${result.import?.reason ? ` (${result.import.reason})` : ""}`,
      true,
    );

    const ok = imported.status === "imported" && result.status === "imported";
    say(
      ok
        ? `demo share imported at both sides in ${((Date.now() - started) / 1000).toFixed(1)} s`
        : `demo share did not end imported: partner-b ${imported.status}, partner-a ${result.status}`,
      true,
    );
    return ok;
  } catch (error) {
    // DemoFailure, or a service that stopped answering (fetch failed, timed out).
    say(`demo failed: ${(error as Error).message}`, true);
    return false;
  } finally {
    printLinks(config, say, shareId, hostedUrl);
  }
}

function printLinks(
  config: StackConfig,
  say: (text: string) => void,
  shareId: string | undefined,
  hostedUrl: string | undefined,
): void {
  say("look at:");
  say(`  console       ${config.console.url}/${shareId ? `?share=${shareId}` : ""}`);
  if (shareId) {
    say(
      `  share at A    curl -s -H 'authorization: Bearer ${config.keys.partnerA}' ${config.partnerA.url}/v1/shares/${shareId}`,
    );
    say(
      `  import at B   curl -s -H 'authorization: Bearer ${config.keys.partnerB}' '${config.partnerB.url}/v1/imports?share_id=${shareId}'`,
    );
    say(
      `  audit at A    curl -s -H 'authorization: Bearer ${config.keys.partnerA}' '${config.partnerA.url}/v1/audit?share_id=${shareId}'`,
    );
  }
  if (hostedUrl) say(`  hosted page   ${hostedUrl}`);
}
