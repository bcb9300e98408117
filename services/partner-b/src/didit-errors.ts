import { DiditError, DiditRateLimitError } from "@share-broker/didit";
import { AppError } from "@share-broker/service-kit";

/** A Didit failure as our caller sees it: 503 when retrying later can help, 502 otherwise. */
export function toUpstreamError(error: unknown): unknown {
  if (!(error instanceof DiditError)) return error;
  if (error.retryable) {
    const retryAfter = error instanceof DiditRateLimitError ? error.retryAfterSeconds : null;
    return new AppError(503, "didit_unavailable", "Didit is unavailable; retry later.", {
      headers: retryAfter ? { "retry-after": String(retryAfter) } : {},
      cause: error,
    });
  }
  return new AppError(502, "didit_rejected", `Didit refused the call (HTTP ${error.status ?? "none"}).`, {
    cause: error,
  });
}
