import type { NodePgDatabase } from "@share-broker/service-kit";
import type { Pool } from "pg";
import type * as schema from "./schema/index.js";

/** Drizzle over the service's pool; `$client` runs the hot path's named prepared statements. */
export type Database = NodePgDatabase<typeof schema> & { $client: Pool };
/** A transaction or the database itself: functions that write take either. */
export type Executor = Database | Parameters<Parameters<Database["transaction"]>[0]>[0];
