import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The name of the principal whose request is being handled, for code far from the request (the
 * audit logs) that must record who acted. Set by createApp around each authenticated handler;
 * background work runs outside any request and sees null.
 */
const storage = new AsyncLocalStorage<string>();

export function runAsPrincipal<T>(name: string, work: () => T): T {
  return storage.run(name, work);
}

/** The acting principal's name, or null outside an authenticated request. */
export function currentPrincipalName(): string | null {
  return storage.getStore() ?? null;
}
