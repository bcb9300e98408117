import { Agent, request } from "undici";
import type { z } from "zod";

/** A partner's read API could not answer: unreachable, refused our key, or answered nonsense. */
export class PartnerApiError extends Error {
  constructor(
    readonly partner: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${partner}: ${message}`);
    this.name = "PartnerApiError";
  }
}

export interface PartnerApiOptions {
  name: string;
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
}

/** Read-only calls to one partner's public API with its Bearer key. */
export class PartnerApi {
  readonly name: string;
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 2_000 } });

  constructor(options: PartnerApiOptions) {
    this.name = options.name;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
  }

  /** GETs `path` and parses the body with `schema`; `undefined` when the partner answers 404. */
  async get<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S> | undefined> {
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(`${this.baseUrl}${path}`, {
        method: "GET",
        headers: { authorization: `Bearer ${this.#apiKey}`, accept: "application/json" },
        dispatcher: this.#agent,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
    } catch (error) {
      throw new PartnerApiError(this.name, `unreachable at ${this.baseUrl} (${(error as Error).message})`);
    }
    const body: unknown = await response.body.json().catch(() => undefined);
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) {
      const code = (body as { error?: { code?: string } } | undefined)?.error?.code ?? "no error code";
      throw new PartnerApiError(
        this.name,
        `GET ${path.split("?")[0]} answered ${response.statusCode} (${code})`,
        response.statusCode,
      );
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new PartnerApiError(this.name, `GET ${path.split("?")[0]} answered an unexpected body`);
    }
    return parsed.data;
  }

  /** Resolves when the partner answers /healthz: the console's readiness. */
  async alive(): Promise<void> {
    const response = await request(`${this.baseUrl}/healthz`, {
      dispatcher: this.#agent,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
    await response.body.dump();
    if (response.statusCode !== 200) throw new Error(`${this.name} /healthz answered ${response.statusCode}`);
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}
