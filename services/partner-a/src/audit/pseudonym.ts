import { createHmac } from "node:crypto";

/**
 * Audit events and channel messages carry a keyed pseudonym instead of the user id: stable, so a
 * user's trail can be queried, but not reversible without the partner's secret.
 */
export class Pseudonymizer {
  readonly #secret: string;
  // A share needs its user's pseudonym five times (audit events, the envelope): remember recent ones.
  readonly #recent = new Map<string, string>();
  readonly #capacity: number;

  constructor(secret: string, capacity = 10_000) {
    this.#secret = secret;
    this.#capacity = capacity;
  }

  /**
   * What one audience sees of the user: keyed per audience (and kept apart from the audit
   * pseudonym by a domain label), so two partners given shares of one user cannot link them by
   * comparing pseudonyms, and neither can match them against partner-a's audit trail.
   */
  forAudience(audience: string, userId: string): string {
    return this.of(`audience\u0000${audience}\u0000${userId}`);
  }

  of(userId: string): string {
    const known = this.#recent.get(userId);
    if (known !== undefined) return known;
    const pseudonym = `u_${createHmac("sha256", this.#secret).update(userId, "utf8").digest("base64url").slice(0, 22)}`;
    if (this.#recent.size >= this.#capacity) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      this.#recent.delete(this.#recent.keys().next().value as string);
    }
    this.#recent.set(userId, pseudonym);
    return pseudonym;
  }
}
