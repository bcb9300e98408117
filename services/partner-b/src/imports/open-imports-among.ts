import { param, type SQL, sql } from "drizzle-orm";
import { OPEN_IMPORT_STATES } from "./import-row.js";

/**
 * "`m` is one of these imports and still open", for the statements that update a batch of imports
 * joined to their input by id. The list of ids gives the planner a primary-key lookup whose size it
 * knows (the batch), and `is true` keeps the status index out of reach. Without both, statistics
 * taken while few imports were open (after a quiet spell, or before a backlog arrives) make the
 * planner read every open import through the status index for each batch: the cost of a batch then
 * grows with the backlog.
 */
export function openImportsAmong(importIds: readonly string[]): SQL {
  return sql`m.import_id = any(${param(importIds)}::uuid[])
    and (m.status = any(${param([...OPEN_IMPORT_STATES])}::text[])) is true`;
}
