import type { Partner, PartnerRegistry } from "@share-broker/channel";
import type { DiditClient } from "@share-broker/didit";
import type { AppOptions, Clock, Logger } from "@share-broker/service-kit";
import type { AuditLog } from "./audit/audit-log.js";
import type { PartnerBConfig } from "./config.js";
import type { Database } from "./db/database.js";
import type { ImportPolicy } from "./policies/import-policy.js";

/** Everything partner-b's routes and workers share, built once in server.ts. */
export interface PartnerBContext {
  config: PartnerBConfig;
  logger: Logger;
  db: Database;
  didit: DiditClient;
  registry: PartnerRegistry;
  /** This partner's own registry entry. */
  self: Partner;
  policy: ImportPolicy;
  audit: AuditLog;
  clock: Clock;
  results: { wake(): void };
  /** Where the HTTP rate limiter counts, shared by replicas; unset: in process (RATE_LIMIT_STORE=memory, tests). */
  rateLimitRedis?: AppOptions["rateLimitRedis"];
}
