export { buildConsoleApp, type ConsoleDependencies } from "./app.js";
export { type ConsoleConfig, consoleConfigSchema, isLoopbackHost } from "./config.js";
export { buildOverview, type Overview, type Partners } from "./overview.js";
export { PartnerApi, PartnerApiError } from "./partner-api.js";
export { escapeHtml, fragments, renderPage } from "./render.js";
