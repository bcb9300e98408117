import type { PartnerRegistry } from "@share-broker/channel";
import type { DiditClient } from "@share-broker/didit";
import type { AppOptions, Clock, Logger } from "@share-broker/service-kit";
import type { AuditLog } from "./audit/audit-log.js";
import type { Pseudonymizer } from "./audit/pseudonym.js";
import type { PartnerAConfig } from "./config.js";
import type { Database } from "./db/database.js";
import type { ShareAcceptor } from "./shares/accept-share.js";

/** Everything partner-a's routes and workers share, built once in server.ts. */
export interface PartnerAContext {
  config: PartnerAConfig;
  logger: Logger;
  db: Database;
  didit: DiditClient;
  registry: PartnerRegistry;
  audit: AuditLog;
  pseudonyms: Pseudonymizer;
  clock: Clock;
  dispatcher: { wake(): void };
  shares: ShareAcceptor;
  /** Where the HTTP rate limiter counts, shared by replicas; unset: in process (RATE_LIMIT_STORE=memory, tests). */
  rateLimitRedis?: AppOptions["rateLimitRedis"];
}
