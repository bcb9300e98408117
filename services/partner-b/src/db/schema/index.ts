export { auditEvents } from "./audit-events.js";
export { imports } from "./imports.js";
export { linkRequests } from "./link-requests.js";
export { resultOutbox } from "./result-outbox.js";
export { webhookEvents } from "./webhook-events.js";
