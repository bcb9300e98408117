import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  path: string;
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
  receivedAt: number;
}

export interface ScriptedAnswer {
  status: number;
  delayMs?: number;
  headers?: Record<string, string>;
}

/** A tiny HTTP endpoint standing in for a partner's webhook route: records requests, answers as scripted. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** TCP connections the sender opened (since start or the last clear). */
  connections = 0;
  readonly #script: ScriptedAnswer[] = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on("connection", () => {
      receiver.connections += 1;
    });
    server.on("request", (request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        receiver.received.push({
          path: request.url ?? "",
          rawBody: Buffer.concat(chunks),
          headers: request.headers,
          receivedAt: Date.now(),
        });
        const answer = receiver.#script.shift() ?? { status: 200 };
        setTimeout(() => {
          response.writeHead(answer.status, answer.headers ?? {});
          response.end();
        }, answer.delayMs ?? 0).unref();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The next requests get these answers, in order; after them, 200. */
  answerNext(...answers: ScriptedAnswer[]): void {
    this.#script.push(...answers);
  }

  clear(): void {
    this.connections = 0;
    this.received.length = 0;
    this.#script.length = 0;
  }

  for(path: string): ReceivedWebhook[] {
    return this.received.filter((request) => request.path === path);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
