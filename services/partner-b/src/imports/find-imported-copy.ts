import type { DiditClient } from "@share-broker/didit";
import type { Database } from "../db/database.js";
import type { ImportRow } from "./import-row.js";
import type { ImportedCopy, ImportStore } from "./import-store.js";

export type CopySearch =
  | { kind: "copy"; copy: ImportedCopy }
  /** Our application holds a copy, but another import (another share of the same session) owns it. */
  | { kind: "recorded_elsewhere"; importId: string }
  | { kind: "none" };

/**
 * Looks for our imported copy of the token's source session among our Didit sessions for this
 * import's vendor_data (docs/DIDIT.md#import-a-shared-session). The session list is Didit's word, so a copy
 * found there is real even though the source session id came from unverified token claims.
 */
export async function findImportedCopy(
  didit: DiditClient,
  store: ImportStore,
  db: Database,
  row: ImportRow,
): Promise<CopySearch> {
  if (!row.claimedSourceSession || !row.vendorData) return { kind: "none" };
  const source = row.claimedSourceSession.toLowerCase();
  const page = await didit.listSessions({ vendor_data: row.vendorData, limit: 100 });
  const match = page.results.find((session) => session.shared_from_session?.toLowerCase() === source);
  if (!match) return { kind: "none" };
  const owner = await store.importOfSession(db, match.session_id);
  if (owner !== undefined && owner !== row.importId) return { kind: "recorded_elsewhere", importId: owner };
  const createdAt = match.created_at ? Date.parse(match.created_at) : Number.NaN;
  return {
    kind: "copy",
    copy: {
      sessionId: match.session_id,
      status: match.status,
      statusAt: Number.isNaN(createdAt) ? new Date() : new Date(createdAt),
      sharedFromSession: match.shared_from_session ?? null,
    },
  };
}
