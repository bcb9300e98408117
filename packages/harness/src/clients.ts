import {
  type Consent,
  type ErrorBody as ContractErrorBody,
  type CreateConsentBody,
  consentSchema,
  type Import,
  type ImportPolicy,
  importListSchema,
  importPolicySchema,
  importSchema,
  type LinkRequestCreated,
  linkRequestCreatedSchema,
  partnerAAuditPageSchema,
  type Share,
  shareSchema,
  type VerificationCreated,
  verificationCreatedSchema,
} from "@share-broker/contracts";
import type { z } from "zod";
import type { HarnessConfig } from "./config.js";

/** An HTTP answer as the harness sees it: status and parsed JSON body (or undefined). */
export interface Answer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** The stack answered something other than what a step needed; the message says what and where. */
export class UnexpectedAnswerError extends Error {
  override name = "UnexpectedAnswerError";
}

/** What a failing call may carry: the contract's error body, or text from something else entirely. */
export interface ErrorBody {
  error?: Partial<ContractErrorBody["error"]>;
  detail?: string;
}

interface CallOptions {
  body?: unknown;
  /** Sent as is (e.g. a webhook whose exact bytes are signed); wins over `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Send the Bearer key (default true). */
  auth?: boolean;
}

const REQUEST_TIMEOUT_MS = 15_000;

function describeError(body: unknown): string {
  const error = (body as ErrorBody | undefined)?.error;
  if (error?.code) return `${error.code}${error.message ? `: ${error.message}` : ""}`;
  const detail = (body as ErrorBody | undefined)?.detail;
  if (typeof detail === "string") return detail;
  return body === undefined ? "no body" : JSON.stringify(body).slice(0, 300);
}

/** One service's HTTP API with its Bearer key. Messages never carry the key. */
export class ServiceApi {
  constructor(
    readonly service: string,
    readonly baseUrl: string,
    private readonly bearer: string,
    /** The setting to check when the key is refused, e.g. PARTNER_A_API_KEY. */
    private readonly keySetting: string,
  ) {}

  async call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.auth !== false) headers.authorization = `Bearer ${this.bearer}`;
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new UnexpectedAnswerError(
        `cannot reach ${this.service} at ${this.baseUrl} (${method} ${path}): ${why}`,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = { detail: text.slice(0, 300) };
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  /** Calls and insists on `expected`; anything else throws with the service's own error code and message. */
  async expect<T = unknown>(
    expected: number,
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<T> {
    const answer = await this.call<T>(method, path, options);
    if (answer.status !== expected) throw this.unexpected(answer, method, path, `expected ${expected}`);
    return answer.body;
  }

  /**
   * `expect`, then parses the body with the contract's schema: a service that drifts from its
   * published contract fails the step here, naming the fields, instead of somewhere downstream.
   */
  async expectValid<S extends z.ZodType>(
    expected: number,
    method: string,
    path: string,
    schema: S,
    options: CallOptions = {},
  ): Promise<z.infer<S>> {
    const body = await this.expect(expected, method, path, options);
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    // Paths and messages only: a value could be a user id or a token.
    const fields = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`)
      .join("; ");
    throw new UnexpectedAnswerError(
      `${this.service} ${method} ${path.split("?")[0]} answered ${expected} with a body outside the contract (${fields})`,
    );
  }

  unexpected(answer: Answer, method: string, path: string, wanted: string): UnexpectedAnswerError {
    const hint =
      answer.status === 401 && (answer.body as ErrorBody | undefined)?.error?.code === "unauthenticated"
        ? ` — ${this.service} refused the key: check ${this.keySetting}`
        : "";
    return new UnexpectedAnswerError(
      `${this.service} ${method} ${path} answered ${answer.status} ${describeError(answer.body)} (${wanted})${hint}`,
    );
  }
}

// The partners' views are the contract's own types, re-exported under the harness's names.
export type ShareView = Share;
export type ImportView = Import;
export type PolicyFile = ImportPolicy;
export type ConsentRequest = CreateConsentBody;

/** Partner A's public API: verifications, consents, shares, audit, and its Didit webhook. */
export class PartnerAClient {
  readonly api: ServiceApi;

  constructor(config: HarnessConfig) {
    this.api = new ServiceApi("partner-a", config.partnerAUrl, config.partnerAApiKey, "PARTNER_A_API_KEY");
  }

  createVerification(userId: string): Promise<VerificationCreated> {
    return this.api.expectValid(201, "POST", "/v1/verifications", verificationCreatedSchema, {
      body: { user_id: userId, kind: "first" },
    });
  }

  verificationOf(userId: string): Promise<Answer<{ session_id?: string; status?: string }>> {
    return this.api.call("GET", `/v1/users/${encodeURIComponent(userId)}/verification`);
  }

  async createConsent(request: ConsentRequest): Promise<string> {
    const body = await this.api.expectValid(201, "POST", "/v1/consents", consentSchema, { body: request });
    return body.consent_id;
  }

  withdrawConsent(consentId: string): Promise<Consent> {
    return this.api.expectValid(200, "DELETE", `/v1/consents/${consentId}`, consentSchema);
  }

  /** POST /v1/shares without insisting on 202: refusals are what some scenarios expect. */
  requestShare(body: { consent_id: string }): Promise<Answer<ErrorBody & { share_id?: string }>> {
    return this.api.call("POST", "/v1/shares", { body });
  }

  share(shareId: string): Promise<ShareView> {
    return this.api.expectValid(200, "GET", `/v1/shares/${shareId}`, shareSchema);
  }

  async auditActions(shareId: string): Promise<string[]> {
    const path = `/v1/audit?share_id=${shareId}&limit=100`;
    const body = await this.api.expectValid(200, "GET", path, partnerAAuditPageSchema);
    return body.events.map((event) => event.action);
  }

  postWebhook(
    rawBody: string,
    headers: Record<string, string>,
  ): Promise<Answer<ErrorBody & { status?: string }>> {
    return this.api.call("POST", "/v1/webhooks/didit", { rawBody, headers, auth: false });
  }
}

/** Partner B's public API: link requests, imports, reviews, policy, and its Didit webhook. */
export class PartnerBClient {
  readonly api: ServiceApi;

  constructor(config: HarnessConfig) {
    this.api = new ServiceApi("partner-b", config.partnerBUrl, config.partnerBApiKey, "PARTNER_B_API_KEY");
  }

  createLinkRequest(body: { user_ref: string; source?: string }): Promise<LinkRequestCreated> {
    return this.api.expectValid(201, "POST", "/v1/link-requests", linkRequestCreatedSchema, { body });
  }

  async importsOf(query: { share_id?: string; vendor_data?: string }): Promise<ImportView[]> {
    const params = new URLSearchParams(query as Record<string, string>);
    const body = await this.api.expectValid(200, "GET", `/v1/imports?${params}`, importListSchema);
    return body.imports;
  }

  importById(importId: string): Promise<ImportView> {
    return this.api.expectValid(200, "GET", `/v1/imports/${importId}`, importSchema);
  }

  review(importId: string, decision: "Approved" | "Declined"): Promise<Answer<ErrorBody>> {
    return this.api.call("POST", `/v1/imports/${importId}/review`, {
      body: { decision, comment: "integration harness review" },
    });
  }

  policies(): Promise<PolicyFile> {
    return this.api.expectValid(200, "GET", "/v1/policies", importPolicySchema);
  }

  postWebhook(
    rawBody: string,
    headers: Record<string, string>,
  ): Promise<Answer<ErrorBody & { status?: string }>> {
    return this.api.call("POST", "/v1/webhooks/didit", { rawBody, headers, auth: false });
  }
}

export interface FaultSpec {
  method: string;
  path: string;
  status?: number;
  times?: number | null;
  retry_after_seconds?: number;
  latency_ms?: number;
}

export interface Fault extends FaultSpec {
  fault_id: string;
  applied: number;
}

export interface SandboxClock {
  now: string;
  now_epoch_seconds: number;
  offset_seconds: number;
}

/** The Didit sandbox's control API (`/sandbox/*`). */
export class SandboxControlClient {
  readonly api: ServiceApi;

  constructor(url: string, controlKey: string) {
    this.api = new ServiceApi("didit-sandbox", url, controlKey, "SANDBOX_CONTROL_KEY");
  }

  async complete(sessionId: string, status: string): Promise<void> {
    await this.api.expect(200, "POST", `/sandbox/sessions/${sessionId}/complete`, { body: { status } });
  }

  addFault(spec: FaultSpec): Promise<Fault> {
    return this.api.expect(201, "POST", "/sandbox/faults", { body: spec });
  }

  async fault(faultId: string): Promise<Fault | undefined> {
    const body = await this.api.expect<{ faults: Fault[] }>(200, "GET", "/sandbox/faults");
    return body.faults.find((fault) => fault.fault_id === faultId);
  }

  async removeFault(faultId: string): Promise<void> {
    const answer = await this.api.call("DELETE", `/sandbox/faults/${faultId}`);
    if (answer.status !== 204 && answer.status !== 404) {
      throw this.api.unexpected(answer, "DELETE", `/sandbox/faults/${faultId}`, "expected 204");
    }
  }

  clock(): Promise<SandboxClock> {
    return this.api.expect(200, "GET", "/sandbox/clock");
  }

  advanceClock(seconds: number): Promise<SandboxClock> {
    return this.api.expect(200, "POST", "/sandbox/clock", { body: { advance_seconds: seconds } });
  }

  /** Puts the sandbox clock back to real time (DELETE /sandbox/clock). */
  resetClock(): Promise<SandboxClock> {
    return this.api.expect(200, "DELETE", "/sandbox/clock");
  }
}
