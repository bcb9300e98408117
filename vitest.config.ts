import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultClientConditions, defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Every workspace folder with a test/ directory is a vitest project. Internal packages are read
// through their "source" export condition, so tests never need a build of a dependency. Folders are
// found from this file, not the working directory: a package's own `pnpm test` runs from inside it.
const REPO_ROOT = fileURLToPath(new URL(".", import.meta.url));
const workspaceFolders = ["packages", "services"].flatMap((group) =>
  readdirSync(join(REPO_ROOT, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(REPO_ROOT, group, entry.name, "test")))
    .map((entry) => join(group, entry.name)),
);

export default defineConfig({
  resolve: { conditions: ["source", ...defaultClientConditions] },
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions], externalConditions: ["source"] } },
  test: {
    globalSetup: [fileURLToPath(new URL("packages/testing/src/global-setup.ts", import.meta.url))],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: process.env.CI
      ? ["default", ["junit", { outputFile: "test-results/junit.xml" }]]
      : ["default"],
    projects: [
      ...workspaceFolders.map((folder) => ({
        extends: true as const,
        test: { name: folder.split("/")[1], root: folder, include: ["test/**/*.test.ts"] },
      })),
      // Cross-service tests: several services as real processes talking over HTTP and Redis.
      // Several processes per test: a slower machine gets more time before a test counts as hung.
      {
        extends: true as const,
        test: { name: "stack", root: "tests", include: ["**/*.test.ts"], testTimeout: 90_000 },
      },
    ],
  },
});
