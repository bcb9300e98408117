import { z } from "zod";

/**
 * Partner ids appear in key ids, claims and logs; keeping them to a plain alphabet keeps every one
 * of those unambiguous (no ":" either, which BullMQ reserves).
 */
export const partnerIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "lowercase letters, digits, '_' and '-', starting with a letter or digit");

export function assertPartnerId(partnerId: string): void {
  const parsed = partnerIdSchema.safeParse(partnerId);
  if (!parsed.success) {
    throw new TypeError(`invalid partner id "${partnerId}": ${parsed.error.issues[0]?.message}`);
  }
}
