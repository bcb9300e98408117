export { auditEvents } from "./audit-events.js";
export { consents } from "./consents.js";
export { shareDispatches } from "./share-dispatches.js";
export { shares } from "./shares.js";
export { verificationSessions } from "./verification-sessions.js";
export { webhookEvents } from "./webhook-events.js";
