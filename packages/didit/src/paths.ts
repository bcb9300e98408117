/**
 * Didit v3 paths. Every one ends in "/": without it Didit redirects, the redirect drops `x-api-key`, and
 * the caller sees a baffling 403 (docs/DIDIT.md#base-facts). Single sessions live under `session/`, the list
 * under `sessions/`.
 */

export const createSessionPath = "/v3/session/";
export const importSharedPath = "/v3/session/import-shared/";

export function sessionPath(
  sessionId: string,
  action: "decision" | "share" | "update-status" | "delete",
): string {
  if (typeof sessionId !== "string" || sessionId.length === 0) {
    throw new TypeError("sessionId must be a non-empty string");
  }
  return `/v3/session/${encodeURIComponent(sessionId)}/${action}/`;
}

export function listSessionsPath(query: Readonly<Record<string, string | number | undefined>>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.append(key, String(value));
  }
  const search = params.toString();
  return search.length > 0 ? `/v3/sessions/?${search}` : "/v3/sessions/";
}
