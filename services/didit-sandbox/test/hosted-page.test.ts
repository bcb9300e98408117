import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { APP_A, type Sandbox, startSandbox } from "./helpers.js";

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.stop();
});
beforeEach(async () => {
  await sandbox.reset();
});

const a = () => sandbox.client(APP_A.apiKey);

function submit(url: string, status: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ status }).toString(),
    redirect: "manual",
  });
}

it("renders the hosted page at the session url and its form completes the session", async () => {
  const created = await a().createSession({ workflow_id: APP_A.kyc, vendor_data: "page-user" });
  const page = await fetch(created.url);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
  const html = await page.text();
  expect(html).toContain(`<form method="post" action="/session/${created.session_token}">`);
  for (const outcome of ["Approved", "Declined", "In Review"]) {
    expect(html).toContain(`name="status" value="${outcome}"`);
  }
  expect(html).toContain("Scan an identity document");

  const done = await submit(created.url, "Declined");
  expect(done.status).toBe(200);
  expect(await done.text()).toContain("This verification is finished (Declined).");
  const decision = await a().getDecision(created.session_id);
  expect(decision.status).toBe("Declined");
  expect(decision.id_verifications?.[0]?.status).toBe("Declined");
  // A finished session's page offers no form, and a second submission changes nothing.
  expect(await (await fetch(created.url)).text()).not.toContain("<form");
  expect((await submit(created.url, "Approved")).status).toBe(409);
  expect((await a().getDecision(created.session_id)).status).toBe("Declined");
});

it("says selfie-only on the reusable_kyc workflow's page", async () => {
  const created = await a().createSession({ workflow_id: APP_A.reusableKyc });
  const html = await (await fetch(created.url)).text();
  expect(html).toContain("Selfie-only re-verification");
  expect(html).toMatch(/Selfie only: take a selfie/);
  expect(html).not.toContain("Scan an identity document");
  await submit(created.url, "Approved");
  const decision = await a().getDecision(created.session_id);
  expect(decision.features).toEqual(["LIVENESS", "FACE_MATCH"]);
  expect(decision.id_verifications).toBeNull();
  expect(decision.face_matches?.[0]?.status).toBe("Approved");
});

it("redirects to the callback with verificationSessionId and status after the form", async () => {
  const created = await a().createSession({
    workflow_id: APP_A.kyc,
    callback: "https://partner.example/back?x=1",
  });
  const response = await submit(created.url, "In Review");
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get("location") as string);
  expect(location.origin + location.pathname).toBe("https://partner.example/back");
  expect(Object.fromEntries(location.searchParams)).toEqual({
    x: "1",
    verificationSessionId: created.session_id,
    status: "In Review",
  });
});

it("escapes what it renders and answers 404 for an unknown link or a bad outcome", async () => {
  const created = await a().createSession({
    workflow_id: APP_A.kyc,
    vendor_data: `<script>alert("x")</script>&'`,
  });
  const html = await (await fetch(created.url)).text();
  expect(html).not.toContain("<script>");
  expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
  expect((await fetch(`${sandbox.url}/session/doesNotExist`)).status).toBe(404);
  expect((await submit(created.url, "Kyc Expired")).status).toBe(400);
});
