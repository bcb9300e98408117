/**
 * What an API key may do. Each operation in partner-a.ts / partner-b.ts declares the one scope it
 * needs; service-kit refuses a principal without it (403 insufficient_scope). `admin` implies
 * every other scope. Scopes are part of the contract: never renamed, only added.
 */
export const API_SCOPES = [
  "consents:read",
  "consents:write",
  "shares:read",
  "shares:write",
  "audit:read",
  "imports:read",
  "imports:review",
  "links:write",
  "admin",
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** The scope that grants everything, erasure included. */
export const ADMIN_SCOPE: ApiScope = "admin";

/** Whether a principal holding `held` may call an operation that needs `needed`. */
export function grantsScope(held: ReadonlySet<string> | readonly string[], needed: ApiScope): boolean {
  const scopes = held instanceof Set ? held : new Set(held);
  return scopes.has(ADMIN_SCOPE) || scopes.has(needed);
}
