import { param, type SQL, sql } from "drizzle-orm";

/**
 * "The row is one of these ids and its status is one of these", for statements that update a batch
 * of rows joined to their input by id. The list of ids gives the planner a primary-key lookup whose
 * size it knows (the batch), and `is true` keeps a status index out of reach. Without both,
 * statistics taken while few rows were in those states (a quiet spell before a burst) make the
 * planner read every such row through the status index for each batch, so a batch's cost grows
 * with the backlog: under a 40,000-share burst each of partner-a's dispatcher batches took ~0.4 s
 * instead of ~1 ms.
 */
export function amongIdsInStates(
  idColumn: SQL,
  ids: readonly string[],
  statusColumn: SQL,
  states: readonly string[],
): SQL {
  return sql`${idColumn} = any(${param(ids)}::uuid[])
    and (${statusColumn} = any(${param(states)}::text[])) is true`;
}
