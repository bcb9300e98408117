import { createRequire } from "node:module";

/**
 * The benchmark's HTTP client: undici's keep-alive Pool, the client the product itself uses for Didit
 * (global fetch costs about a third more CPU per call, and the load generator shares the machine with
 * the services it measures). The root workspace does not depend on undici, so the copy that
 * @share-broker/didit depends on is borrowed; the types below are the few members used here.
 */
interface UndiciBody {
  text(): Promise<string>;
  dump(): Promise<void>;
}
interface UndiciResponse {
  statusCode: number;
  body: UndiciBody;
}
interface UndiciPool {
  request(options: {
    path: string;
    method: string;
    headers?: Record<string, string>;
    body?: string | null;
  }): Promise<UndiciResponse>;
  close(): Promise<void>;
}
interface UndiciModule {
  Pool: new (
    origin: string,
    options?: { connections?: number; keepAliveTimeout?: number; pipelining?: number },
  ) => UndiciPool;
}

const undici = createRequire(new URL("../packages/didit/package.json", import.meta.url))(
  "undici",
) as UndiciModule;

export interface JsonAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field and checked by status.
  body: any;
}

/** A keep-alive JSON client for one origin, with fixed headers (the caller's credentials). */
export class JsonClient {
  readonly #pool: UndiciPool;

  constructor(
    readonly origin: string,
    private readonly headers: Record<string, string> = {},
    connections = 64,
  ) {
    this.#pool = new undici.Pool(origin, { connections, keepAliveTimeout: 30_000 });
  }

  async call(method: string, path: string, body?: unknown): Promise<JsonAnswer> {
    const response = await this.#pool.request({
      path,
      method,
      headers: {
        ...this.headers,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.body.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.statusCode, body: parsed };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** For bench/bare: the same Pool class, to call the sandbox the way the product's Didit client does. */
export function createPool(origin: string, connections: number): UndiciPool {
  return new undici.Pool(origin, { connections, keepAliveTimeout: 30_000 });
}
