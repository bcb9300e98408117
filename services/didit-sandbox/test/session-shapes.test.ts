import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { SANDBOX_ROOT } from "./helpers.js";

// Node 20's V8 gives every object built as `{ ...spread, more }` in optimised code a hidden class of
// its own. Sessions live as long as the sandbox: built that way, each carried a private map and
// descriptor array (19,979 maps for 20,000 sessions in a benchmark's heap snapshot).
it("stores its sessions, created and imported, under a handful of shared hidden classes", () => {
  const child = spawnSync(
    process.execPath,
    [
      "--allow-natives-syntax",
      "--conditions=source",
      "--import",
      "tsx",
      "test/support/count-session-maps.ts",
      "400",
    ],
    { cwd: SANDBOX_ROOT, encoding: "utf8", timeout: 60_000 },
  );
  expect(child.status, child.stderr).toBe(0);
  const counted = JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "{}") as {
    sessions: number;
    hiddenClasses: number;
  };
  expect(counted.sessions).toBe(800);
  // A few: V8 may move a class on as a field's representation settles, but never one per session.
  expect(counted.hiddenClasses).toBeLessThanOrEqual(5);
});
