import { createHash } from "node:crypto";

const JOB_ID = /^[A-Za-z0-9._-]{1,200}$/;

/**
 * BullMQ job ids must not contain ":" and must not look like integers. Business keys that already
 * fit (share ids are UUIDs) are kept as they are, so partners can find jobs by share id; anything
 * else is replaced by a stable hash of it.
 */
export function channelJobId(key: string): string {
  if (JOB_ID.test(key) && !/^\d+$/.test(key) && key.length <= 150) return key;
  return `h-${createHash("sha256").update(key, "utf8").digest("hex").slice(0, 40)}`;
}

/** The results-queue job id of an import's n-th result: `<share_id>`, then `<share_id>-<n>`. */
export function resultJobId(shareId: string, seq: number): string {
  const base = channelJobId(shareId);
  return seq === 0 ? base : `${base}-${seq}`;
}
