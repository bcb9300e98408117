import { Agent, type Dispatcher } from "undici";
import type {
  CreatedSession,
  CreateSessionRequest,
  ImportedSession,
  ImportSharedSessionRequest,
  ListSessionsQuery,
  SessionDecision,
  SessionPage,
  SharedSession,
  ShareSessionRequest,
  UpdatedSessionStatus,
  UpdateSessionStatusRequest,
} from "./api-types.js";
import { createSessionPath, importSharedPath, listSessionsPath, sessionPath } from "./paths.js";
import { DiditTransport } from "./transport.js";

export const DIDIT_PRODUCTION_BASE_URL = "https://verification.didit.me";

export interface DiditClientOptions {
  /** e.g. `https://verification.didit.me` or the sandbox `http://127.0.0.1:3003`; without `/v3`. */
  baseUrl: string;
  /** The application's key, sent as `x-api-key`; never appears in errors. */
  apiKey: string;
  /** Deadline per attempt, covering connect, headers and body. Default 10 000. */
  timeoutMs?: number;
  /** Extra attempts for retry-safe calls only. Default 3. */
  maxRetries?: number;
  /** Longest single wait between attempts; a longer Retry-After surfaces the 429 instead. Default 60 000. */
  maxRetryDelayMs?: number;
  /** Injectable so tests can observe backoff without waiting. */
  sleep?: (ms: number) => Promise<void>;
  /** A caller-owned dispatcher (e.g. a MockAgent); otherwise the client owns a keep-alive Agent. */
  dispatcher?: Dispatcher;
}

/**
 * Typed client for Didit's Verification API v3 (docs/DIDIT.md).
 *
 * Failures reject with a `DiditError` subclass chosen by HTTP status. Only calls that cannot take effect
 * twice are retried: decision and list reads, and create when `vendor_data` is given (Didit then returns
 * the same unfinished session). Share, import-shared, update-status and delete are attempted once; the
 * caller decides, e.g. by reconciling an import via `listSessions` (docs/DIDIT.md#import-a-shared-session).
 */
export class DiditClient {
  readonly #transport: DiditTransport;
  readonly #ownedAgent: Agent | undefined;

  constructor(options: DiditClientOptions) {
    const baseUrl = checkBaseUrl(options.baseUrl);
    if (typeof options.apiKey !== "string" || options.apiKey.length === 0) {
      throw new TypeError("DiditClient: apiKey must be a non-empty string");
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    const maxRetries = options.maxRetries ?? 3;
    const maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
    requireNonNegativeInteger("timeoutMs", timeoutMs);
    requireNonNegativeInteger("maxRetries", maxRetries);
    requireNonNegativeInteger("maxRetryDelayMs", maxRetryDelayMs);
    // HTTP/1.1 pinned: undici 8 would negotiate HTTP/2 with a TLS server that offers it, which
    // multiplexes every call on one connection; timeouts, retries and pool sizes were proven on 1.1.
    this.#ownedAgent =
      options.dispatcher === undefined ? new Agent({ keepAliveTimeout: 10_000, allowH2: false }) : undefined;
    this.#transport = new DiditTransport({
      baseUrl,
      apiKey: options.apiKey,
      timeoutMs,
      maxRetries,
      maxRetryDelayMs,
      sleep: options.sleep,
      dispatcher: options.dispatcher ?? (this.#ownedAgent as Agent),
    });
  }

  /** `POST /v3/session/` → 201. With `vendor_data`, an unfinished session for it may be returned instead. */
  async createSession(input: CreateSessionRequest): Promise<CreatedSession> {
    return this.#transport.sendForObject({
      operation: "createSession",
      method: "POST",
      path: createSessionPath,
      body: input,
      retrySafe: typeof input.vendor_data === "string" && input.vendor_data.length > 0,
    });
  }

  /** `GET /v3/session/{id}/decision/`. */
  async getDecision(sessionId: string): Promise<SessionDecision> {
    return this.#transport.sendForObject({
      operation: "getDecision",
      method: "GET",
      path: sessionPath(sessionId, "decision"),
      retrySafe: true,
    });
  }

  /** `GET /v3/sessions/` (plural), one page. */
  async listSessions(query: ListSessionsQuery = {}): Promise<SessionPage> {
    const { vendor_data, status, country, workflow_id, offset, limit } = query;
    return this.#transport.sendForObject({
      operation: "listSessions",
      method: "GET",
      path: listSessionsPath({ vendor_data, status, country, workflow_id, offset, limit }),
      retrySafe: true,
    });
  }

  /** `POST /v3/session/{id}/share/`: mints a share token for one receiving application. Never retried. */
  async shareSession(sessionId: string, input: ShareSessionRequest): Promise<SharedSession> {
    const { for_application_id, ttl_in_seconds } = input;
    // Didit's OpenAPI example sends "3600"; the prose says integer, which both Didit and the sandbox accept.
    if (ttl_in_seconds !== undefined && !Number.isInteger(ttl_in_seconds)) {
      throw new TypeError("shareSession: ttl_in_seconds must be an integer");
    }
    return this.#transport.sendForObject({
      operation: "shareSession",
      method: "POST",
      path: sessionPath(sessionId, "share"),
      body: ttl_in_seconds === undefined ? { for_application_id } : { for_application_id, ttl_in_seconds },
      retrySafe: false,
    });
  }

  /**
   * `POST /v3/session/import-shared/` → 201. Never retried: one import per (source session, receiver), so a
   * repeat after a lost response answers 403. Recover by listing sessions for `vendor_data` and matching
   * `shared_from_session`.
   */
  async importSharedSession(input: ImportSharedSessionRequest): Promise<ImportedSession> {
    const { share_token, workflow_id, trust_review, vendor_data } = input;
    if (typeof trust_review !== "boolean")
      throw new TypeError("importSharedSession: trust_review must be a boolean");
    return this.#transport.sendForObject({
      operation: "importSharedSession",
      method: "POST",
      path: importSharedPath,
      // Sent even when false: optional in Didit's docs, required in older ones.
      body:
        vendor_data === undefined
          ? { share_token, workflow_id, trust_review }
          : { share_token, workflow_id, trust_review, vendor_data },
      retrySafe: false,
      secrets: [share_token],
    });
  }

  /** `PATCH /v3/session/{id}/update-status/`. Never retried. */
  async updateSessionStatus(
    sessionId: string,
    input: UpdateSessionStatusRequest,
  ): Promise<UpdatedSessionStatus> {
    return this.#transport.sendForObject({
      operation: "updateSessionStatus",
      method: "PATCH",
      path: sessionPath(sessionId, "update-status"),
      body: input,
      retrySafe: false,
    });
  }

  /** `DELETE /v3/session/{id}/delete/` → 204. Never retried: a repeat of a delete that landed answers 404. */
  async deleteSession(sessionId: string): Promise<void> {
    await this.#transport.send({
      operation: "deleteSession",
      method: "DELETE",
      path: sessionPath(sessionId, "delete"),
      retrySafe: false,
    });
  }

  /** Closes the client's own connection pool; a caller-supplied dispatcher is left to its owner. */
  async close(): Promise<void> {
    if (this.#ownedAgent !== undefined && !this.#ownedAgent.closed) await this.#ownedAgent.close();
  }
}

function checkBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError("DiditClient: baseUrl is not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError("DiditClient: baseUrl must be http or https");
  }
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new TypeError("DiditClient: baseUrl must not carry a query, fragment or credentials");
  }
  // Every request path starts with /v3/; a base ending in /v3 (as some Didit pages write it) would double it.
  if (/\/v3\/?$/.test(url.pathname)) {
    throw new TypeError("DiditClient: baseUrl must not include /v3 (e.g. https://verification.didit.me)");
  }
  return `${url.origin}${url.pathname}`;
}

function requireNonNegativeInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0)
    throw new TypeError(`DiditClient: ${name} must be a non-negative integer`);
}
