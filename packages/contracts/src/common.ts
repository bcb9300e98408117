import { z } from "zod";
import type { ApiScope } from "./api-scopes.js";
import { errorBodySchema } from "./errors.js";

/** Any 8-4-4-4-12 hex id. Lenient on version bits, as ids minted elsewhere may be any version. */
export const idSchema = z.guid();
export const timestampSchema = z.iso.datetime().describe("RFC 3339 UTC timestamp.");
export const nullableTimestamp = timestampSchema.nullable();

/** `:id` path parameters. */
export const idParamsSchema = z.strictObject({ id: idSchema });

/** `limit` of a page: query strings are text, hence the coercion. */
export function pageLimit(max: number) {
  return z.coerce.number().int().min(1).max(max).default(50).describe(`Page size, 1 to ${max}.`);
}

/** A sequence cursor: the `next_cursor` of the previous page. */
export const sequenceCursorSchema = z
  .string()
  .regex(/^[0-9]{1,19}$/)
  .describe("The previous page's next_cursor.");
export const nextCursorSchema = z
  .string()
  .nullable()
  .describe("Pass as `cursor` for the next page; null on the last.");

/** Error answers every operation declares. */
export const clientErrors = { "4xx": errorBodySchema } as const;
export const allErrors = { "4xx": errorBodySchema, "5xx": errorBodySchema } as const;

/** What an operation declares besides its request and response schemas. */
export interface OperationMeta {
  readonly operationId: string;
  readonly summary: string;
  readonly tags: readonly string[];
  /** The scope a principal needs to call it (api-scopes.ts); service-kit enforces it. */
  readonly scope: ApiScope;
}

/**
 * An operation of a partner's HTTP API: what `fastify.route` needs besides the handler. The scope
 * rides in the route's config (read by service-kit's scope check) and in the OpenAPI security
 * requirement, so the one declaration drives both enforcement and documentation.
 */
export interface Operation<Schema> {
  readonly method: "GET" | "POST" | "DELETE";
  readonly url: string;
  readonly config: { readonly scope: ApiScope };
  readonly schema: Omit<Schema, "scope"> & {
    readonly operationId: string;
    readonly summary: string;
    readonly tags: readonly string[];
    readonly security: readonly [{ readonly bearer: readonly [ApiScope] }];
  };
}

export function operation<const Schema extends OperationMeta>(
  method: Operation<Schema>["method"],
  url: string,
  declared: Schema,
): Operation<Schema> {
  const { scope, ...schema } = declared;
  return { method, url, config: { scope }, schema: { ...schema, security: [{ bearer: [scope] }] } };
}

/** `GET /v1/audit`, which both partners serve with their own query and page schemas. */
export function listAuditOperation<const Query, const Page>(querystring: Query, page: Page) {
  return operation("GET", "/v1/audit", {
    operationId: "listAuditEvents",
    scope: "audit:read",
    summary: "Audit events, newest first",
    tags: ["audit"],
    querystring,
    response: { 200: page, ...clientErrors },
  });
}
