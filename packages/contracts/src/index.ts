export * from "./audit.js";
export * from "./common.js";
export * from "./errors.js";
export * from "./link-requests.js";
export * from "./partner-a.js";
export * from "./partner-b.js";
export * from "./platform.js";
export * from "./states.js";
