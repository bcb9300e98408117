import { type DiditError, DiditRateLimitError } from "./errors.js";

/** Didit's advice without Retry-After: 5 s, then 10, 20, 40 s (docs/DIDIT.md#rate-limits). */
const FIRST_BACKOFF_MS = 5_000;

/**
 * How long to wait before retry number `retryIndex` (0-based), or null when waiting cannot help:
 * the error is permanent, or Didit asks for a longer pause than `maxDelayMs` (then the caller, e.g. a
 * queue with its own backoff, is better placed to wait than a blocked request).
 */
export function retryDelayMs(error: DiditError, retryIndex: number, maxDelayMs: number): number | null {
  if (!error.retryable) return null;
  if (error instanceof DiditRateLimitError && error.retryAfterSeconds !== null) {
    const asked = error.retryAfterSeconds * 1000;
    return asked <= maxDelayMs ? asked : null;
  }
  return Math.min(FIRST_BACKOFF_MS * 2 ** retryIndex, maxDelayMs);
}

/** Retry-After as delta-seconds or an HTTP-date; null when absent or unreadable. */
export function parseRetryAfterSeconds(value: string | string[] | undefined, nowMs: number): number | null {
  const header = Array.isArray(value) ? value[0] : value;
  if (header === undefined) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // HTTP-dates name a weekday and month; the letter check stops Date.parse reading "-5" as a year.
  const date = /[A-Za-z]/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - nowMs) / 1000));
}
