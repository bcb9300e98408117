import { createHmac } from "node:crypto";

/**
 * Audit events and channel messages carry a keyed pseudonym instead of the user id: stable, so a
 * user's trail can be queried, but not reversible without the partner's secret.
 */
export class Pseudonymizer {
  readonly #secret: string;
  constructor(secret: string) {
    this.#secret = secret;
  }
  of(userId: string): string {
    return `u_${createHmac("sha256", this.#secret).update(userId, "utf8").digest("base64url").slice(0, 22)}`;
  }
}
