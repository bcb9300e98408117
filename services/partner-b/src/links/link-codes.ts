import { createHash, randomBytes } from "node:crypto";

/** A new link code: 256 random bits, base64url (43 characters), so it cannot be guessed. */
export function newLinkCode(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * What partner-b stores and looks a code up by. A plain SHA-256 suffices: the code is 256 random
 * bits, so its hash cannot be reversed by trying codes, unlike a password's.
 */
export function linkCodeHash(code: string): string {
  return createHash("sha256").update(code, "utf8").digest("hex");
}
