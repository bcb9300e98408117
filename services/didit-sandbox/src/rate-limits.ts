/**
 * Didit's per-key rate limits (docs/DIDIT.md#rate-limits): sliding 60 s windows per scope. Each emulated
 * endpoint counts in exactly one scope: create in `create`, decision in `decision`, list in `read` (generic
 * GET), and share, import-shared, update-status and delete in `write` (generic POST, PATCH, DELETE).
 */
export type RateLimitScope = "create" | "decision" | "read" | "write";

export const DEFAULT_RATE_LIMITS: Readonly<Record<RateLimitScope, number>> = Object.freeze({
  create: 600,
  decision: 100,
  read: 600,
  write: 300,
});

const WINDOW_MS = 60_000;
const SCOPES = Object.keys(DEFAULT_RATE_LIMITS) as RateLimitScope[];

/** Parses `write=5,decision=3`; returns a message for the config error line when it cannot. */
export function parseRateLimitOverrides(text: string): Partial<Record<RateLimitScope, number>> | string {
  const overrides: Partial<Record<RateLimitScope, number>> = {};
  for (const part of text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean)) {
    const match = /^([a-z]+)\s*=\s*(\d+)$/.exec(part);
    const scope = match?.[1] as RateLimitScope | undefined;
    if (!match || scope === undefined || !SCOPES.includes(scope) || Number(match[2]) < 1) {
      return `"${part}" is not scope=limit with a scope of ${SCOPES.join(", ")} and a limit of at least 1`;
    }
    overrides[scope] = Number(match[2]);
  }
  return overrides;
}

export type RateLimitDecision =
  | { allowed: true }
  | { allowed: false; limit: number; retryAfterSeconds: number; resetEpochSeconds: number };

export class RateLimiter {
  readonly #limits: Record<RateLimitScope, number>;
  readonly #hits = new Map<string, number[]>();

  constructor(overrides: Partial<Record<RateLimitScope, number>> = {}) {
    this.#limits = { ...DEFAULT_RATE_LIMITS, ...overrides };
  }

  /** Counts one request for `caller` in `scope` unless the window is already full. */
  take(caller: string, scope: RateLimitScope, nowMs: number): RateLimitDecision {
    const key = `${scope}:${caller}`;
    const limit = this.#limits[scope];
    const recent = this.#recent(key, nowMs - WINDOW_MS);
    if (recent.length >= limit) {
      this.#hits.set(key, recent);
      const freesAt = (recent[0] as number) + WINDOW_MS;
      return {
        allowed: false,
        limit,
        retryAfterSeconds: Math.max(1, Math.ceil((freesAt - nowMs) / 1000)),
        resetEpochSeconds: Math.ceil(freesAt / 1000),
      };
    }
    // In order, also after the sandbox clock was moved back.
    let at = recent.length;
    while (at > 0 && (recent[at - 1] as number) > nowMs) at--;
    recent.splice(at, 0, nowMs);
    this.#hits.set(key, recent);
    return { allowed: true };
  }

  /**
   * The caller's hits inside the window. Hits are kept in time order, so the expired ones are a
   * prefix and dropping them costs only their number, not a pass over the whole window per request.
   */
  #recent(key: string, cutoff: number): number[] {
    const hits = this.#hits.get(key) ?? [];
    let expired = 0;
    while (expired < hits.length && (hits[expired] as number) <= cutoff) expired++;
    if (expired > 0) hits.splice(0, expired);
    return hits;
  }

  reset(): void {
    this.#hits.clear();
  }
}
