// Container health probe: exits 0 when the URL answers 2xx within 3 s, 1 otherwise.
// Usage: node healthcheck.mjs [url]; without a URL, /healthz on this service's PORT.

// Each service's default port (docs/OPERATIONS.md#every-http-service), for an image started without PORT.
const DEFAULT_PORTS = { "partner-a": 3001, "partner-b": 3002, "didit-sandbox": 3003 };

const port = process.env.PORT || DEFAULT_PORTS[process.env.SERVICE];
const url = process.argv[2] ?? `http://127.0.0.1:${port}/healthz`;

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  if (!response.ok) {
    process.stderr.write(`${url} answered ${response.status}: ${await response.text()}\n`);
    process.exit(1);
  }
} catch (error) {
  process.stderr.write(`${url} unreachable: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
