import { randomBytes } from "node:crypto";
import { AppError, createApp, errorBodySchema, type Logger } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import { type ConsoleConfig, isLoopbackHost, SERVICE_NAME } from "./config.js";
import { buildOverview, type Partners } from "./overview.js";
import { fragments, renderPage, SHARE_STATES } from "./render.js";

export interface ConsoleDependencies {
  config: Pick<ConsoleConfig, "CONSOLE_REFRESH_MS" | "CONSOLE_ALLOW_REMOTE">;
  logger: Logger;
  partners: Partners;
}

const UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

const pageQuery = {
  type: "object",
  properties: {
    share: { type: "string", pattern: UUID },
    status: { type: "string", enum: SHARE_STATES.map(([state]) => state) },
  },
} as const;

interface PageQuery {
  share?: string;
  status?: string;
}

const looseObject = { type: "object", additionalProperties: true } as const;

/** The hostname of a Host header: `127.0.0.1:3000` → `127.0.0.1`, `[::1]:3000` → `[::1]`. */
function hostnameOf(header: string | undefined): string {
  if (!header) return "";
  return header.startsWith("[") ? header.slice(0, header.indexOf("]") + 1) : (header.split(":")[0] ?? "");
}

/**
 * The console: one page and the JSON it refreshes from. It holds partner API keys but asks none of
 * its visitors, so unless CONSOLE_ALLOW_REMOTE is set it answers only requests addressed to a
 * loopback name: a web page elsewhere cannot read it through a rebound DNS name.
 */
export async function buildConsoleApp(deps: ConsoleDependencies): Promise<FastifyInstance> {
  const app = await createApp({
    service: SERVICE_NAME,
    logger: deps.logger,
    apiKeys: [],
    authenticate: "none",
    readiness: {
      "partner-a": () => deps.partners.a.alive(),
      "partner-b": () => deps.partners.b.alive(),
    },
  });
  if (!deps.config.CONSOLE_ALLOW_REMOTE) {
    app.addHook("onRequest", async (request) => {
      if (!isLoopbackHost(hostnameOf(request.headers.host))) {
        throw new AppError(403, "forbidden_host", "The console answers only on 127.0.0.1 or localhost.");
      }
    });
  }
  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("cache-control", "no-store");
    return payload;
  });

  app.get(
    "/",
    { schema: { querystring: pageQuery, response: { "4xx": errorBodySchema } } },
    async (request, reply) => {
      const query = request.query as PageQuery;
      const overview = await buildOverview(deps.partners, { shareId: query.share, status: query.status });
      const nonce = randomBytes(16).toString("base64");
      return reply
        .type("text/html; charset=utf-8")
        .header(
          "content-security-policy",
          `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
        )
        .send(renderPage(overview, { nonce, refreshMs: deps.config.CONSOLE_REFRESH_MS }));
    },
  );

  app.get(
    "/api/shares",
    {
      // Polled every second by every open page: only failures are worth a log line.
      logLevel: "warn",
      config: { rateLimit: false },
      schema: {
        querystring: pageQuery,
        response: {
          200: {
            type: "object",
            properties: {
              generated_at: { type: "string" },
              status_filter: { type: ["string", "null"] },
              sources: { type: "object", additionalProperties: looseObject },
              shares: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    share: looseObject,
                    import_at_b: { ...looseObject, type: ["object", "null"] },
                  },
                },
              },
              selected: {
                type: ["object", "null"],
                properties: {
                  share_id: { type: "string" },
                  share: { ...looseObject, type: ["object", "null"] },
                  imports: { type: "array", items: looseObject },
                  timeline: { type: "array", items: looseObject },
                },
              },
              html: { type: "object", additionalProperties: { type: "string" } },
            },
          },
          "4xx": errorBodySchema,
        },
      },
    },
    async (request) => {
      const query = request.query as PageQuery;
      const overview = await buildOverview(deps.partners, { shareId: query.share, status: query.status });
      return { ...overview, html: fragments(overview) };
    },
  );
  return app;
}
