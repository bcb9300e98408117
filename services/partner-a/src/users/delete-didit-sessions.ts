import { type DiditClient, DiditNotFoundError, upstreamFailureAnswer } from "@share-broker/didit";
import { answerError, type Logger } from "@share-broker/service-kit";

/**
 * Deletes sessions of partner-a's Didit application, one at a time. A session Didit no longer has
 * (404) counts as deleted: a repeated erasure, or one Didit already forgot. Any other failure stops
 * here as the HTTP answer (503 `didit_unavailable` when it may pass, 502 `didit_rejected` otherwise),
 * so the caller changes nothing locally and the whole erasure can simply be asked again.
 */
export async function deleteDiditSessions(
  didit: DiditClient,
  sessionIds: readonly string[],
  logger: Logger,
): Promise<string[]> {
  const deleted: string[] = [];
  for (const sessionId of sessionIds) {
    try {
      await didit.deleteSession(sessionId);
    } catch (error) {
      if (!(error instanceof DiditNotFoundError)) {
        logger.warn(
          { session_id: sessionId, didit_status: (error as { status?: unknown }).status ?? null },
          "erasure: Didit refused to delete a session; nothing erased locally",
        );
        const answer = upstreamFailureAnswer(error);
        throw answer ? answerError(answer, error) : error;
      }
      logger.info({ session_id: sessionId }, "erasure: Didit no longer has the session");
    }
    deleted.push(sessionId);
  }
  return deleted;
}
