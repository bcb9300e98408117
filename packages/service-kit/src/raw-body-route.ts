import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** Didit's webhook bodies are a few KiB; a quarter MiB leaves room and bounds the work per request. */
export const WEBHOOK_BODY_LIMIT_BYTES = 256 * 1024;

export interface RawBodyRouteOptions {
  url: string;
  /** Response schemas, as for any route: nothing undeclared leaks. */
  response: Record<string, unknown>;
  /** What the OpenAPI document says of the route. */
  summary: string;
  tags: readonly string[];
  /** Largest body accepted; bigger ones get 413 payload_too_large before any of it is processed. */
  bodyLimitBytes: number;
  /** Requests per minute per client address, on top of (and counted apart from) the app's limit. */
  rateLimitPerMinute: number;
  handler: (rawBody: Buffer, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

/**
 * A public POST route that receives its JSON body as the exact bytes sent, for signed webhooks:
 * the signature is checked over what the sender signed, before anything is parsed or trusted. The
 * route lives in its own encapsulated plugin so the rest of the app keeps the normal JSON parser.
 */
export async function registerRawBodyRoute(
  app: FastifyInstance,
  options: RawBodyRouteOptions,
): Promise<void> {
  await app.register(async (scope) => {
    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) =>
      done(null, body),
    );
    scope.post(
      options.url,
      {
        bodyLimit: options.bodyLimitBytes,
        // Public and costly (canonicalisation and two HMACs per body), so limited per address on
        // its own, before the body is read.
        config: {
          public: true,
          rateLimit: {
            max: options.rateLimitPerMinute,
            timeWindow: 60_000,
            keyGenerator: (request: FastifyRequest) => `ip:${request.ip}`,
          },
        },
        // Authenticated by its signature, not by a Bearer key.
        schema: { summary: options.summary, tags: options.tags, security: [], response: options.response },
      },
      async (request, reply) => options.handler(request.body as Buffer, request, reply),
    );
  });
}
