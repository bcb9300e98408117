// Test helpers for the services' own tests (`@share-broker/service-kit/testing`); never imported by
// a server. They live here, not in @share-broker/testing, because they build service-kit objects.
export { recordedFallbacks } from "./recorded-fallbacks.js";
