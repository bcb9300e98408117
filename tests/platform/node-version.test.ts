import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceProcess } from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/services.js";
import {
  createWorld,
  type PartnerProcess,
  startSandbox,
  startWorldConsole,
  startWorldPartner,
  type World,
} from "../support/world.js";

// The release line the project runs on (.node-version, which scripts/lib/tooling.sh provides).
const PINNED = readFileSync(join(REPO_ROOT, ".node-version"), "utf8").trim();
const PINNED_MAJOR = PINNED.split(".")[0];

/** The `nodejs_version_info` sample every service's /metrics carries (prom-client's defaults). */
async function nodeVersionOf(service: ServiceProcess): Promise<{ version: string; major: string }> {
  const response = await fetch(`${service.opsUrl}/metrics`);
  expect(response.status).toBe(200);
  const line = (await response.text()).split("\n").find((row) => row.startsWith("nodejs_version_info{"));
  const version = /version="(v[^"]+)"/.exec(line ?? "")?.[1];
  const major = /major="(\d+)"/.exec(line ?? "")?.[1];
  if (!version || !major) throw new Error(`${service.name} reports no nodejs_version_info: ${line}`);
  return { version, major };
}

describe("the Node.js every process runs on", () => {
  it("is the 24 LTS line that .node-version pins", () => {
    expect(PINNED_MAJOR).toBe("24");
    expect(process.versions.node.split(".")[0]).toBe(PINNED_MAJOR);
  });

  it("is the same for a `node` the tests start from PATH (the harness runs through pnpm)", () => {
    const child = spawnSync("node", ["--version"], { encoding: "utf8" });
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe(process.version);
  });

  it("is the base of every image: the Dockerfile's node:24-bookworm-slim, which compose does not override", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, "infra", "docker", "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_IMAGE=node:${PINNED_MAJOR}-bookworm-slim$`, "m"));
    // Every stage starts from that image or from the tools stage built on it.
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    expect(bases.length).toBeGreaterThan(1);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own reference to its ARG
    expect(bases.filter((base) => base !== "tools" && base !== "${NODE_IMAGE}")).toEqual([]);
    const compose = readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8");
    expect(compose).not.toContain("NODE_IMAGE");
    expect(compose).not.toMatch(/image: node:/);
  });

  it("is what package.json's engines ask for", () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    expect(manifest.engines.node).toBe(`>=${PINNED_MAJOR}`);
  });

  describe("inside each service process", () => {
    let world: World;
    let sandbox: ServiceProcess;
    let partnerA: PartnerProcess;
    let partnerB: PartnerProcess;
    let consoleService: ServiceProcess;

    beforeAll(async () => {
      world = await createWorld();
      sandbox = await startSandbox(world);
      partnerA = await startWorldPartner(world, "partner-a");
      partnerB = await startWorldPartner(world, "partner-b");
      consoleService = await startWorldConsole(partnerA, partnerB);
    }, 120_000);
    afterAll(async () => {
      await consoleService?.stop();
      await partnerB?.stop();
      await partnerA?.stop();
      await sandbox?.stop();
    });

    it("reports Node 24 on /metrics: didit-sandbox, partner-a, partner-b and the console", async () => {
      for (const service of [sandbox, partnerA, partnerB, consoleService]) {
        const running = await nodeVersionOf(service);
        expect({ service: service.name, major: running.major }).toEqual({
          service: service.name,
          major: PINNED_MAJOR,
        });
        expect(running.version).toBe(process.version);
      }
    });
  });
});
