import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { PARTNER_A_BATCHES } from "../../services/partner-a/src/batches.js";
import { PARTNER_B_BATCHES } from "../../services/partner-b/src/batches.js";
import { REPO_ROOT } from "../support/services.js";

// The README's table of share_broker_batch_fallbacks_total's `batch` values is what an operator
// alerts on: it must list exactly the batches each service counts.
it("the README lists every batch each service counts fallbacks of, and no other", () => {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const rows = [...readme.matchAll(/^\s*\| (partner-[a-z]) \| `([a-z_]+)` \|/gm)].map(
    ([, service, batch]) => [service, batch],
  );
  expect(rows.sort()).toEqual(
    [
      ...Object.keys(PARTNER_A_BATCHES).map((batch) => ["partner-a", batch]),
      ...Object.keys(PARTNER_B_BATCHES).map((batch) => ["partner-b", batch]),
    ].sort(),
  );
});
