export { auditEvents } from "./audit-events.js";
