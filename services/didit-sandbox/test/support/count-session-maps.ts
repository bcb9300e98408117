/**
 * Run with `node --allow-natives-syntax --conditions=source --import tsx` (see session-shapes.test.ts):
 * drives the sandbox in process through a few hundred sessions (created, finished, shared, imported)
 * and prints how many distinct V8 hidden classes its stored sessions have.
 */
import { createLogger } from "@share-broker/service-kit";
import { buildSandboxApp } from "../../src/app.js";
import { loadApplications } from "../../src/applications.js";
import { sandboxConfigSchema } from "../../src/config.js";
import { type SandboxSession, SessionStore } from "../../src/store.js";
import { APP_A, APP_B, CONTROL_KEY, FIXTURE_APPLICATIONS } from "../helpers.js";

// V8 intrinsics, reachable only through a Function body compiled with --allow-natives-syntax.
const sameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;

const stored: SandboxSession[] = [];
const add = SessionStore.prototype.add;
SessionStore.prototype.add = function (this: SessionStore, session: SandboxSession) {
  stored.push(session);
  add.call(this, session);
};

const config = sandboxConfigSchema.parse({
  SANDBOX_CONFIG: FIXTURE_APPLICATIONS,
  SANDBOX_CONTROL_KEY: CONTROL_KEY,
  NODE_ENV: "production",
  SANDBOX_RATE_LIMITS: "create=100000000,decision=100000000,read=100000000,write=100000000",
});
const app = await buildSandboxApp({
  config,
  logger: createLogger({ service: "didit-sandbox", level: "error" }),
  applications: loadApplications(FIXTURE_APPLICATIONS),
});
const asA = { "x-api-key": APP_A.apiKey };
const count = Number(process.argv[2] ?? 400);
for (let index = 0; index < count; index += 1) {
  const created = await app.inject({
    method: "POST",
    url: "/v3/session/",
    headers: asA,
    payload: { workflow_id: APP_A.kyc },
  });
  const sessionId = created.json<{ session_id: string }>().session_id;
  await app.inject({
    method: "POST",
    url: `/sandbox/sessions/${sessionId}/complete`,
    headers: { authorization: `Bearer ${CONTROL_KEY}` },
    payload: { status: "Approved" },
  });
  const shared = await app.inject({
    method: "POST",
    url: `/v3/session/${sessionId}/share/`,
    headers: asA,
    payload: { for_application_id: APP_B.id },
  });
  const imported = await app.inject({
    method: "POST",
    url: "/v3/session/import-shared/",
    headers: { "x-api-key": APP_B.apiKey },
    payload: {
      share_token: shared.json<{ share_token: string }>().share_token,
      workflow_id: APP_B.kyc,
      trust_review: true,
    },
  });
  if (imported.statusCode !== 201) throw new Error(`import answered ${imported.statusCode}`);
}
await app.close();

const classes: SandboxSession[] = [];
for (const session of stored) {
  if (!classes.some((known) => sameMap(known, session))) classes.push(session);
}
process.stdout.write(`${JSON.stringify({ sessions: stored.length, hiddenClasses: classes.length })}\n`);
