import { type DiditClient, upstreamFailureAnswer } from "@share-broker/didit";
import { answerError } from "@share-broker/service-kit";
import { eq } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { verificationSessions } from "../db/schema/index.js";

const PAGE = 100;

/**
 * Every Didit session of partner-a's application that belongs to the user: those recorded here, and
 * those Didit lists under the user id as `vendor_data` (a session whose creation answer was lost,
 * or one made in Didit's console that sent no webhook yet). Didit's list is read before anything
 * is deleted, so an outage fails the erasure before it changes anything.
 */
export async function diditSessionsOfUser(
  db: Executor,
  didit: DiditClient,
  userId: string,
): Promise<string[]> {
  const recorded = await db
    .select({ sessionId: verificationSessions.sessionId })
    .from(verificationSessions)
    .where(eq(verificationSessions.userId, userId));
  const ids = new Set(recorded.map((row) => row.sessionId));
  for (let offset = 0; ; offset += PAGE) {
    let page: Awaited<ReturnType<DiditClient["listSessions"]>>;
    try {
      page = await didit.listSessions({ vendor_data: userId, limit: PAGE, offset });
    } catch (error) {
      const answer = upstreamFailureAnswer(error);
      throw answer ? answerError(answer, error) : error;
    }
    for (const session of page.results) {
      if (session.vendor_data === userId) ids.add(session.session_id);
    }
    if (!page.next || page.results.length === 0) break;
  }
  return [...ids];
}
