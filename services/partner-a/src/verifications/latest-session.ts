import { desc, eq } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { verificationSessions } from "../db/schema/index.js";

/** The user's most recently created session: the one that decides whether they can be shared. */
export async function latestSessionOf(executor: Executor, userId: string) {
  const [session] = await executor
    .select()
    .from(verificationSessions)
    .where(eq(verificationSessions.userId, userId))
    .orderBy(desc(verificationSessions.createdAt), desc(verificationSessions.statusAt))
    .limit(1);
  return session;
}
