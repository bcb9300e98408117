export { auditEvents } from "./audit-events.js";
export { imports } from "./imports.js";
export { resultOutbox } from "./result-outbox.js";
export { webhookEvents } from "./webhook-events.js";
