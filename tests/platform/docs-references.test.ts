import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatProblems, githubSlug, markdownAnchors, ReferenceChecker } from "../support/docs-references.js";
import { REPO_ROOT } from "../support/services.js";

/** This file names broken references on purpose, in the throwaway repositories below. */
const SELF = "tests/platform/docs-references.test.ts";

/** What git tracks, as the repository is cloned; the lockfile only names packages. */
function trackedFiles(): string[] {
  return execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" })
    .split("\0")
    .filter((file) => file !== "" && file !== "pnpm-lock.yaml" && file !== SELF);
}

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A throwaway repository holding exactly `files`, with a folder above it the check must not reach. */
function repositoryOf(files: Record<string, string>): string {
  const parent = mkdtempSync(join(tmpdir(), "docs-references-"));
  scratch.push(parent);
  const root = join(parent, "repo");
  writeFileSync(join(parent, "OUTSIDE.md"), "# Outside\n");
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  return root;
}

describe("references inside the repository", () => {
  it("all resolve: links, markdown paths and anchors; no retired design note cited; no path outside", () => {
    const files = trackedFiles();
    expect(files).toContain("docs/ARCHITECTURE.md");
    expect(formatProblems(new ReferenceChecker(REPO_ROOT).check(files))).toEqual([]);
  });
});

describe("the reference check", () => {
  const docs = [
    "# Guide",
    "",
    "## Keys and rotation",
    "## Queues and job ids",
    "## `dir` envelopes (v1)",
    "## Queues and job ids",
    "```",
    "## Not a heading",
    "```",
  ].join("\n");

  it("slugs headings as GitHub does", () => {
    expect(githubSlug("Keys and rotation")).toBe("keys-and-rotation");
    expect(githubSlug("Node 24 (the platform move)")).toBe("node-24-the-platform-move");
    expect(githubSlug("`dir` envelopes, **v1**")).toBe("dir-envelopes-v1");
    expect(githubSlug("partner-a: the sharer")).toBe("partner-a-the-sharer");
    expect(githubSlug("SHARE_TTL_SECONDS and [links](x.md)")).toBe("share_ttl_seconds-and-links");
    expect([...markdownAnchors(docs)]).toEqual([
      "guide",
      "keys-and-rotation",
      "queues-and-job-ids",
      "dir-envelopes-v1",
      "queues-and-job-ids-1",
    ]);
  });

  it("accepts references that resolve", () => {
    const root = repositoryOf({
      "docs/GUIDE.md": docs,
      "README.md":
        "# Readme\n\n[keys](docs/GUIDE.md#keys-and-rotation), [top](#readme), [site](https://example.com/x.md)\n",
      "packages/p/README.md":
        "# P\n\n[guide](../../docs/GUIDE.md#queues-and-job-ids-1) and `docs/GUIDE.md`.\n",
      "src/code.ts":
        "// docs/GUIDE.md#dir-envelopes-v1 explains it; README.md too.\nimport '../README.md';\n",
    });
    const files = ["docs/GUIDE.md", "README.md", "packages/p/README.md", "src/code.ts"];
    expect(new ReferenceChecker(root).check(files)).toEqual([]);
  });

  it("names the file, line and reference of each broken one", () => {
    const retired = ["DESIGN", "API"].map((name) => `${name}.md`);
    const root = repositoryOf({
      "docs/GUIDE.md": docs,
      "README.md": [
        "# Readme",
        "[gone](docs/MISSING.md) and [bad anchor](docs/GUIDE.md#no-such-heading)",
        "[up](../OUTSIDE.md) and [here](#nowhere)",
      ].join("\n"),
      "src/code.ts": [
        `// as ${retired[0]} §3 says`,
        "// see docs/GUIDE.md#keys-rotation",
        `const notes = "${"../"}${"shared"}/didit/${retired[1]}";`,
        `const home = "/${"work"}/main/README.md";`,
        "// bench/NOWHERE.md",
        "import x from '../../../elsewhere.js';",
      ].join("\n"),
    });
    const problems = new ReferenceChecker(root).check(["README.md", "src/code.ts", "docs/GUIDE.md"]);
    expect(problems.map(({ file, line, reference }) => `${file}:${line} ${reference}`)).toEqual([
      "README.md:2 docs/MISSING.md",
      "README.md:2 docs/GUIDE.md#no-such-heading",
      "README.md:3 ../OUTSIDE.md",
      "README.md:3 #nowhere",
      `src/code.ts:1 ${retired[0]}`,
      "src/code.ts:2 docs/GUIDE.md#keys-rotation",
      `src/code.ts:3 ${retired[1]}`,
      `src/code.ts:3 ${"../"}${"shared"}/didit/${retired[1]}`,
      `src/code.ts:4 /${"work"}/main/README.md`,
      "src/code.ts:5 bench/NOWHERE.md",
      "src/code.ts:6 ../../../elsewhere.js",
    ]);
    expect(formatProblems(problems)[0]).toBe(
      "README.md:2: docs/MISSING.md links to a file that does not exist",
    );
  });
});
