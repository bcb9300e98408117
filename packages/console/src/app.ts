import { randomBytes } from "node:crypto";
import { errorBodySchema, SHARE_STATES } from "@share-broker/contracts";
import { AppError, createApp, type Logger, typedRoutes } from "@share-broker/service-kit";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { type ConsoleConfig, isLoopbackHost, SERVICE_NAME } from "./config.js";
import { buildOverview, type Partners } from "./overview.js";
import { fragments, renderPage } from "./render.js";

export interface ConsoleDependencies {
  config: Pick<ConsoleConfig, "CONSOLE_REFRESH_MS" | "CONSOLE_ALLOW_REMOTE">;
  logger: Logger;
  partners: Partners;
}

const pageQuery = z.object({
  share: z.guid().optional(),
  status: z.enum(SHARE_STATES).optional(),
});

// The overview's parts are typed where they are built (overview.ts); here they only have to be objects.
const looseObject = z.custom<object>((value) => typeof value === "object" && value !== null);

/** What the page refreshes from: the overview as the console assembled it, and its HTML fragments. */
const overviewAnswer = z.object({
  generated_at: z.string(),
  status_filter: z.string().nullable(),
  sources: z.record(z.string(), looseObject),
  shares: z.array(z.object({ share: looseObject, import_at_b: looseObject.nullable() })),
  selected: z
    .object({
      share_id: z.string(),
      share: looseObject.nullable(),
      imports: z.array(looseObject),
      timeline: z.array(looseObject),
    })
    .nullable(),
  html: z.record(z.string(), z.string()),
});

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

  const routes = typedRoutes(app);
  // The page is HTML, which the JSON type provider cannot type; its query is typed by hand.
  app.get<{ Querystring: z.infer<typeof pageQuery> }>(
    "/",
    { schema: { querystring: pageQuery, response: { "4xx": errorBodySchema } } },
    async (request, reply) => {
      const query = request.query;
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

  routes.get(
    "/api/shares",
    {
      // Polled every second by every open page: only failures are worth a log line.
      logLevel: "warn",
      config: { rateLimit: false },
      schema: { querystring: pageQuery, response: { 200: overviewAnswer, "4xx": errorBodySchema } },
    },
    async (request) => {
      const query = request.query;
      const overview = await buildOverview(deps.partners, { shareId: query.share, status: query.status });
      return { ...overview, html: fragments(overview) };
    },
  );
  return app;
}
