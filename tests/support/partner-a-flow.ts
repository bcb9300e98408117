import { randomBytes } from "node:crypto";
import {
  linkRequestCreatedSchema,
  partnerAAuditPageSchema,
  type Share,
  shareSchema,
} from "@share-broker/contracts";
import { expect } from "vitest";
import { eventually, newUserId, type PartnerProcess, sandboxOf, type World } from "./world.js";

/** A user of partner-a whose latest Didit session finished with `status` (webhook applied). */
export async function verifiedUser(
  world: World,
  partnerA: PartnerProcess,
  status = "Approved",
): Promise<string> {
  const userId = newUserId();
  const created = await partnerA.call("POST", "/v1/verifications", { user_id: userId, kind: "first" });
  expect(created.status).toBe(201);
  const { session_id } = (await created.json()) as { session_id: string };
  if (status !== "Not Started") {
    const completed = await sandboxOf(world).control("POST", `/sandbox/sessions/${session_id}/complete`, {
      status,
    });
    expect(completed.status).toBe(200);
    await eventually(
      async () => {
        const response = await partnerA.call("GET", `/v1/users/${userId}/verification`);
        const body = (await response.json()) as { status?: string };
        return body.status === status ? true : undefined;
      },
      10_000,
      `webhook applying ${status}`,
    ).catch((error) => {
      const tail = partnerA.output().split("\n").slice(-20).join("\n");
      throw new Error(`${(error as Error).message}\n--- partner-a, last lines ---\n${tail}`);
    });
  }
  return userId;
}

/** A link code partner-b issued for its user `userRef` (POST /v1/link-requests), redeemable by partner-a. */
export async function linkCodeAt(partnerB: PartnerProcess, userRef: string): Promise<string> {
  const response = await partnerB.call("POST", "/v1/link-requests", {
    user_ref: userRef,
    source: "partner-a",
  });
  expect(response.status).toBe(201);
  return linkRequestCreatedSchema.parse(await response.json()).code;
}

/** A well-formed link code nobody issued: partner-a cannot tell, so tests of partner-a alone use these. */
export function unissuedLinkCode(): string {
  return randomBytes(32).toString("base64url");
}

export async function consentFor(
  partnerA: PartnerProcess,
  userId: string,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const response = await partnerA.call("POST", "/v1/consents", {
    user_id: userId,
    audience: "partner-b",
    purpose: "onboarding",
    scope: "kyc",
    link_code: unissuedLinkCode(),
    evidence: { method: "checkbox", text_version: "v1" },
    ...overrides,
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { consent_id: string }).consent_id;
}

/** GET /v1/shares/{id}, held to the contract: a field that drifts fails the test here. */
export async function shareOf(partnerA: PartnerProcess, shareId: string): Promise<Share> {
  return shareSchema.parse(await (await partnerA.call("GET", `/v1/shares/${shareId}`)).json());
}

export async function shareReaches(
  partnerA: PartnerProcess,
  shareId: string,
  status: string,
  timeoutMs = 15_000,
) {
  return eventually(
    async () => {
      const share = await shareOf(partnerA, shareId);
      return share.status === status ? share : undefined;
    },
    timeoutMs,
    `share ${shareId} reaching ${status}`,
  );
}

export async function auditOf(partnerA: PartnerProcess, query: string) {
  const response = await partnerA.call("GET", `/v1/audit?${query}`);
  if (response.status !== 200)
    expect.fail(`GET /v1/audit?${query}: ${response.status} ${await response.text()}`);
  return partnerAAuditPageSchema.parse(await response.json()).events;
}

/** POST /v1/shares for a consent; returns the accepted share's id. */
export async function requestShare(partnerA: PartnerProcess, consentId: string): Promise<string> {
  const response = await partnerA.call("POST", "/v1/shares", { consent_id: consentId });
  expect(response.status).toBe(202);
  return ((await response.json()) as { share_id: string }).share_id;
}
