import { setTimeout as delay } from "node:timers/promises";
import { type Dispatcher, request } from "undici";
import { isPlainObject } from "./canonical-json.js";
import { errorFromResponse, errorFromTransport, type SecretValues } from "./error-mapping.js";
import { DiditError } from "./errors.js";
import { parseRetryAfterSeconds, retryDelayMs } from "./retry-policy.js";

export interface TransportOptions {
  /** Origin, optionally with a path prefix; never including `/v3`. */
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  maxRetries: number;
  maxRetryDelayMs: number;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  dispatcher: Dispatcher;
}

export interface DiditCall {
  /** Client method name, carried into errors for logs. */
  operation: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  body?: object;
  /**
   * Whether repeating the call cannot cause a second effect. Share mints another token, import-shared
   * is single-use per receiver (a lost response retried becomes a 403), so only reads and
   * vendor_data-keyed creates say true.
   */
  retrySafe: boolean;
  /** Request values besides the API key that must never appear in an error (e.g. a share token). */
  secrets?: SecretValues;
}

export interface DiditResponse {
  status: number;
  body: unknown;
}

/** One Didit exchange with timeout, error mapping and (for retry-safe calls) backoff. */
export class DiditTransport {
  readonly #options: TransportOptions;
  readonly #prefix: string;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#prefix = options.baseUrl.replace(/\/+$/, "");
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
  }

  /** Resolves with the 2xx status and parsed JSON body (undefined when empty), or rejects with a DiditError. */
  async send(call: DiditCall): Promise<DiditResponse> {
    for (let retryIndex = 0; ; retryIndex++) {
      try {
        return await this.#sendOnce(call);
      } catch (error) {
        const wait = this.#retryWait(call, error, retryIndex);
        if (wait === null) throw error;
        await this.#sleep(wait);
      }
    }
  }

  /** Like `send`, but a 2xx must carry a JSON object. */
  async sendForObject<T>(call: DiditCall): Promise<T> {
    const { status, body } = await this.send(call);
    if (!isPlainObject(body)) {
      throw new DiditError({
        status,
        operation: call.operation,
        detail: "response body is not a JSON object",
      });
    }
    return body as T;
  }

  #retryWait(call: DiditCall, error: unknown, retryIndex: number): number | null {
    if (!call.retrySafe || retryIndex >= this.#options.maxRetries || !(error instanceof DiditError))
      return null;
    return retryDelayMs(error, retryIndex, this.#options.maxRetryDelayMs);
  }

  async #sendOnce(call: DiditCall): Promise<DiditResponse> {
    const { apiKey, timeoutMs, dispatcher } = this.#options;
    const secrets = [apiKey, ...(call.secrets ?? [])];
    // One deadline for connect, headers and body together.
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number;
    let text: string;
    let retryAfter: string | string[] | undefined;
    try {
      const response = await request(`${this.#prefix}${call.path}`, {
        method: call.method,
        headers: {
          "x-api-key": apiKey,
          accept: "application/json",
          ...(call.body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: call.body === undefined ? null : JSON.stringify(call.body),
        signal,
        dispatcher,
      });
      status = response.statusCode;
      retryAfter = response.headers["retry-after"];
      text = await response.body.text();
    } catch (cause) {
      throw errorFromTransport(call.operation, cause, signal.aborted, timeoutMs);
    }
    const body = parseJson(text);
    if (status >= 200 && status < 300) return { status, body };
    throw errorFromResponse({
      operation: call.operation,
      status,
      body,
      retryAfterSeconds: parseRetryAfterSeconds(retryAfter, Date.now()),
      secrets,
    });
  }
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // A proxy's HTML error page, say; its text is never echoed into an error.
    return undefined;
  }
}
