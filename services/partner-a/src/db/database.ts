import type { NodePgDatabase } from "@share-broker/service-kit";
import type * as schema from "./schema/index.js";

export type Database = NodePgDatabase<typeof schema>;
/** A transaction or the database itself: functions that write take either. */
export type Executor = Database | Parameters<Parameters<Database["transaction"]>[0]>[0];
