import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A scripted HTTP server on 127.0.0.1:0 for the client's transport mechanics (retries, timeouts, error
 * mapping). It is not a Didit emulator: each test says exactly what every request gets back.
 */

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StubReply {
  status: number;
  body?: unknown;
  /** Sent verbatim instead of JSON-encoding `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Never answer: the client's timeout has to end the exchange. */
  hang?: boolean;
}

export type StubScript = (request: RecordedRequest, index: number) => StubReply;

export interface StubServer {
  baseUrl: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startStubServer(script: StubScript): Promise<StubServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      reply(res, script(recorded, requests.length - 1));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, stub: StubReply): void {
  if (stub.hang) return;
  const text = stub.rawBody ?? (stub.body === undefined ? "" : JSON.stringify(stub.body));
  const headers: Record<string, string> = { ...stub.headers };
  if (stub.rawBody === undefined && stub.body !== undefined) headers["content-type"] = "application/json";
  res.writeHead(stub.status, headers);
  res.end(text);
}

/** Answers every request the same way. */
export function always(stub: StubReply): StubScript {
  return () => stub;
}

/** Answers the n-th request with the n-th reply, then repeats the last. */
export function inSequence(...stubs: StubReply[]): StubScript {
  return (_request, index) => stubs[Math.min(index, stubs.length - 1)] as StubReply;
}
