import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { readJson, type ServiceProcess } from "@share-broker/testing";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consentFor, linkCodeAt } from "../support/partner-a-flow.js";
import {
  createWorld,
  eventually,
  newUserId,
  type PartnerProcess,
  REPO_ROOT,
  startSandbox,
  startWorldConsole,
  startWorldPartner,
  type World,
} from "../support/world.js";

/** Debian's chromium, installed by .ci/run; playwright-core brings no browser of its own. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUTPUT = join(REPO_ROOT, "test-results");

let world: World;
let sandbox: ServiceProcess;
let partnerA: PartnerProcess;
let partnerB: PartnerProcess;
let consoleService: ServiceProcess;
let browser: Browser;

describe("the console in a browser", () => {
  beforeAll(async () => {
    // Never a silent skip: scripts/test.sh and .ci/run install it.
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is absent: run \`apt-get install -y chromium\` (as root), or set CHROMIUM_PATH`,
      );
    }
    world = await createWorld();
    sandbox = await startSandbox(world);
    partnerA = await startWorldPartner(world, "partner-a");
    partnerB = await startWorldPartner(world, "partner-b", { env: { RESULT_POLL_MS: "100" } });
    consoleService = await startWorldConsole(partnerA, partnerB);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    mkdirSync(OUTPUT, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await consoleService?.stop();
    await partnerB?.stop();
    await partnerA?.stop();
    await sandbox?.stop();
  });

  /** A new tab that records script errors and CSP violations, which the test then refuses. */
  async function newPage(): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    return { page, problems };
  }

  it("a person finishes the hosted page, and the console follows the share to imported with both audit trails", async () => {
    const userId = newUserId();
    const created = await partnerA.call("POST", "/v1/verifications", { user_id: userId, kind: "first" });
    expect(created.status).toBe(201);
    const { url: hostedUrl } = (await readJson(created)) as { url: string };

    const hosted = await newPage();
    await hosted.page.goto(hostedUrl);
    await hosted.page.getByRole("heading", { name: "Identity verification" }).waitFor();
    await hosted.page.screenshot({ path: join(OUTPUT, "hosted-page.png"), fullPage: true });
    await hosted.page.getByRole("button", { name: "Approved" }).click();
    await hosted.page.getByText("This verification is finished (Approved)").waitFor();
    await eventually(
      async () => {
        const body = await readJson(await partnerA.call("GET", `/v1/users/${userId}/verification`));
        return body.status === "Approved" ? true : undefined;
      },
      15_000,
      "partner-a applying the hosted page's Approved",
    );

    // The console is open before the share exists: what follows it sees by refreshing itself.
    const { page, problems } = await newPage();
    await page.goto(`${consoleService.url}/`);
    await page
      .getByRole("heading", { name: "Shares from partner-a and their imports at partner-b" })
      .waitFor();
    await page.evaluate(() => {
      (globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
    });

    const shared = await partnerA.call("POST", "/v1/shares", {
      consent_id: await consentFor(partnerA, userId, {
        link_code: await linkCodeAt(partnerB, "b-customer-browser"),
      }),
    });
    expect(shared.status).toBe(202);
    const { share_id: shareId } = (await readJson(shared)) as { share_id: string };

    const row = page.locator(`tr[data-share="${shareId}"]`);
    // Columns: created, share, user, shared with, purpose, share at A, import at B, Didit status at B.
    await row.locator("td:nth-child(6) .badge", { hasText: "imported" }).waitFor({ timeout: 30_000 });
    await row.locator("td:nth-child(7) .badge", { hasText: "imported" }).waitFor({ timeout: 30_000 });
    await row.locator("td:nth-child(8) .badge", { hasText: "Approved" }).waitFor({ timeout: 30_000 });
    await expect(row.locator("td:nth-child(3)").textContent()).resolves.toBe(userId);
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );

    await row.getByRole("link").click();
    const detail = page.locator("#console-detail");
    await detail.getByRole("heading", { name: "Audit trail, both sides, oldest first" }).waitFor();
    expect(page.url()).toContain(`share=${shareId}`);
    for (const action of [
      "consent.granted",
      "share.accepted",
      "share.minted",
      "share.sent",
      "import.received",
      "import.imported",
      "result.sent",
      "share.result",
    ]) {
      await detail.locator(".timeline td", { hasText: action }).first().waitFor({ timeout: 10_000 });
    }
    await expect(detail.getByText("b-customer-browser").count()).resolves.toBeGreaterThan(0);
    await expect(detail.getByText("keeps partner-a's verdict (trust_review)").count()).resolves.toBe(1);

    await page.screenshot({ path: join(OUTPUT, "console.png"), fullPage: true });
    expect(problems).toEqual([]);
    expect(hosted.problems).toEqual([]);
  }, 120_000);
});
