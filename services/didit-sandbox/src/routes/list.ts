import type { FastifyInstance } from "fastify";
import type { SandboxContext } from "../context.js";
import { sessionSummary } from "../decision.js";
import type { SandboxSession } from "../store.js";
import { callerOf, diditRoute, requestOrigin } from "./didit-api.js";

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

type ListQuery = Record<string, string | undefined>;

/** DRF's limit-offset reading: a value that is not a non-negative integer falls back to the default. */
function nonNegativeInteger(value: string | undefined, fallback: number): number {
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : fallback;
}

function countryOf(session: SandboxSession): string[] {
  const expected = session.expected_details ?? {};
  const document = session.blocks.unpack().id_verifications?.[0];
  return [expected.country, expected.id_country, document?.issuing_state].filter(
    (value): value is string => typeof value === "string",
  );
}

/**
 * `GET /v3/sessions/` (docs/DIDIT.md#decision-update-status-list-delete): newest first, DRF limit-offset
 * pages with absolute next/previous.
 */
export function registerListRoute(app: FastifyInstance, ctx: SandboxContext): void {
  app.get<{ Querystring: ListQuery }>("/sessions/", diditRoute("read"), async (request) => {
    const application = callerOf(request);
    const query = request.query;
    const limit = Math.min(Math.max(nonNegativeInteger(query.limit, DEFAULT_LIMIT), 1), MAX_LIMIT);
    const offset = nonNegativeInteger(query.offset, 0);
    const matching = ctx.store
      .listFor(application.application_id)
      .filter(
        (session) =>
          (query.vendor_data === undefined || session.vendor_data === query.vendor_data) &&
          (query.status === undefined || session.status === query.status) &&
          (query.workflow_id === undefined || session.workflow_id === query.workflow_id.toLowerCase()) &&
          (query.country === undefined || countryOf(session).includes(query.country)),
      );
    const page = matching.slice(offset, offset + limit);

    const pageUrl = (pageOffset: number | null) => {
      const url = new URL(`${requestOrigin(request)}${request.url}`);
      url.searchParams.set("limit", String(limit));
      if (pageOffset === null) url.searchParams.delete("offset");
      else url.searchParams.set("offset", String(pageOffset));
      return url.toString();
    };
    const next = offset + limit < matching.length ? pageUrl(offset + limit) : null;
    const previous = offset <= 0 ? null : offset - limit <= 0 ? pageUrl(null) : pageUrl(offset - limit);
    return { count: matching.length, next, previous, results: page.map(sessionSummary) };
  });
}
