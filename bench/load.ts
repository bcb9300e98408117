import { errorBodySchema, shareAcceptedSchema } from "@share-broker/contracts";
import type { JsonClient } from "./http.js";
import { forEachConcurrently, sleep } from "./progress.js";
import type { ShareableUser } from "./users.js";

/** Epoch milliseconds with sub-millisecond precision (Postgres timestamps carry microseconds). */
export const now = () => performance.timeOrigin + performance.now();

export interface Offer {
  userId: string;
  /** When the request was due (paced) or sent (as fast as possible). */
  dueAt: number;
  sentAt: number;
  /** When partner-a answered. */
  answeredAt: number;
  status: number;
  shareId: string | undefined;
  error?: string;
}

async function offer(partnerA: JsonClient, user: ShareableUser, dueAt: number): Promise<Offer> {
  const sentAt = now();
  try {
    const answer = await partnerA.call("POST", "/v1/shares", { consent_id: user.consentId });
    const answeredAt = now();
    // Read with the contract's schemas: a 202 without a valid share id counts as an error.
    const accepted = answer.status === 202 ? shareAcceptedSchema.safeParse(answer.body) : undefined;
    return {
      userId: user.userId,
      dueAt,
      sentAt,
      answeredAt,
      status: answer.status,
      shareId: accepted?.data?.share_id,
      ...(accepted?.success ? {} : { error: describeRefusal(answer.status, answer.body) }),
    };
  } catch (error) {
    return {
      userId: user.userId,
      dueAt,
      sentAt,
      answeredAt: now(),
      status: 0,
      shareId: undefined,
      error: String(error),
    };
  }
}

/** The error code and message of a refusal, or what arrived when the body is not the contract's. */
function describeRefusal(status: number, body: unknown): string {
  if (status === 202) return "202 with a body outside the contract (ShareAccepted)";
  const refusal = errorBodySchema.safeParse(body);
  if (refusal.success) return `${refusal.data.error.code}: ${refusal.data.error.message}`;
  return JSON.stringify(body).slice(0, 300);
}

/** Offers one share per user as fast as partner-a accepts them: `concurrency` requests in flight. */
export async function offerAsFastAsAccepted(
  partnerA: JsonClient,
  users: readonly ShareableUser[],
  concurrency: number,
): Promise<Offer[]> {
  const offers: Offer[] = new Array(users.length);
  await forEachConcurrently(users.length, concurrency, async (index) => {
    offers[index] = await offer(partnerA, users[index] as ShareableUser, now());
  });
  return offers;
}

/**
 * Offers one share per user at a fixed rate (open loop: a slow answer never delays the next offer,
 * as with real users), and says how late the generator itself was.
 */
export async function offerPaced(
  partnerA: JsonClient,
  users: readonly ShareableUser[],
  perSecond: number,
): Promise<{ offers: Offer[]; maxLatenessMs: number }> {
  const start = now() + 20;
  const interval = 1000 / perSecond;
  const pending: Promise<Offer>[] = [];
  let maxLateness = 0;
  let index = 0;
  while (index < users.length) {
    const current = now();
    // Fire everything due; the timer below wakes at most every millisecond or so.
    while (index < users.length && start + index * interval <= current) {
      const dueAt = start + index * interval;
      maxLateness = Math.max(maxLateness, current - dueAt);
      pending.push(offer(partnerA, users[index] as ShareableUser, dueAt));
      index += 1;
    }
    if (index < users.length) {
      const wait = start + index * interval - now();
      await sleep(Math.max(0, Math.min(wait, 50)));
    }
  }
  return { offers: await Promise.all(pending), maxLatenessMs: maxLateness };
}
