import type { FastifyInstance, FastifyReply } from "fastify";
import type { SandboxContext } from "./context.js";
import type { SandboxSession } from "./store.js";

/** Statuses in which the person can still go through the flow. */
const OPEN = new Set(["Not Started", "In Progress", "Resubmitted", "Awaiting User"]);
const OUTCOMES = ["Approved", "Declined", "In Review"] as const;
type Outcome = (typeof OUTCOMES)[number];

export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const STEPS: Record<SandboxSession["workflow_kind"], { title: string; steps: string[] }> = {
  kyc: {
    title: "Identity verification",
    steps: ["Scan an identity document", "Take a selfie (liveness check)", "Face match against the document"],
  },
  reusable_kyc: {
    title: "Selfie-only re-verification",
    steps: [
      "Selfie only: take a selfie so we can confirm you are the person verified before. No identity document is needed.",
    ],
  },
  kyb: {
    title: "Business verification",
    steps: ["Company registry check", "Company documents", "Key people and ownership"],
  },
};

function page(title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Didit sandbox</title>
<style>
body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1d2433}
.note{background:#fff6d6;border:1px solid #e8d48a;padding:.5rem .75rem;border-radius:6px}
button{font-size:1rem;padding:.5rem 1rem;margin:.25rem .5rem .25rem 0;cursor:pointer}
dt{font-weight:600}dd{margin:0 0 .5rem 0}
</style>
</head>
<body>
<p class="note">Didit sandbox: no real verification happens here.</p>
${content}
</body>
</html>`;
}

function sessionPage(session: SandboxSession): string {
  const flow = STEPS[session.workflow_kind];
  const facts = `<dl>
<dt>Workflow</dt><dd>${escapeHtml(session.workflow_name)}</dd>
<dt>Session</dt><dd>${escapeHtml(session.session_id)} (#${escapeHtml(session.session_number)})</dd>
<dt>Reference</dt><dd>${escapeHtml(session.vendor_data ?? "none")}</dd>
<dt>Status</dt><dd id="status">${escapeHtml(session.status)}</dd>
</dl>`;
  const steps = `<ol>${flow.steps.map((step) => `<li>${escapeHtml(step)}</li>`).join("")}</ol>`;
  const form = OPEN.has(session.status)
    ? `<form method="post" action="/session/${encodeURIComponent(session.session_token)}">
<p>Finish the flow with this outcome:</p>
${OUTCOMES.map((outcome) => `<button type="submit" name="status" value="${escapeHtml(outcome)}">${escapeHtml(outcome)}</button>`).join("\n")}
</form>`
    : `<p>This verification is finished (${escapeHtml(session.status)}).</p>`;
  return page(flow.title, `<h1>${escapeHtml(flow.title)}</h1>\n${facts}\n${steps}\n${form}`);
}

function notFoundPage(reply: FastifyReply): FastifyReply {
  return reply
    .code(404)
    .type("text/html; charset=utf-8")
    .send(
      page(
        "Not found",
        "<h1>Verification link not found</h1><p>The link is wrong or the session was deleted.</p>",
      ),
    );
}

/**
 * The hosted verification page at a session's `url`: a person finishes the flow by choosing an
 * outcome. Plain server-rendered HTML; everything rendered is escaped.
 */
export async function hostedPagePlugin(app: FastifyInstance, ctx: SandboxContext): Promise<void> {
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string", bodyLimit: 4096 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header(
      "content-security-policy",
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    );
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    return payload;
  });
  const routeOptions = { config: { public: true, rateLimit: false } } as const;

  app.get<{ Params: { token: string } }>("/session/:token", routeOptions, async (request, reply) => {
    const session = ctx.store.byToken(request.params.token);
    if (!session || session.url === null) return notFoundPage(reply);
    return reply.type("text/html; charset=utf-8").send(sessionPage(session));
  });

  app.post<{ Params: { token: string }; Body: Record<string, string> | undefined }>(
    "/session/:token",
    routeOptions,
    async (request, reply) => {
      const session = ctx.store.byToken(request.params.token);
      if (!session || session.url === null) return notFoundPage(reply);
      const chosen = request.body?.status;
      if (!OUTCOMES.includes(chosen as Outcome)) {
        return reply
          .code(400)
          .type("text/html; charset=utf-8")
          .send(page("Choose an outcome", `<h1>Choose Approved, Declined or In Review</h1>`));
      }
      if (!OPEN.has(session.status)) {
        return reply.code(409).type("text/html; charset=utf-8").send(sessionPage(session));
      }
      ctx.lifecycle.changeStatus(session, chosen as Outcome);
      if (session.callback) {
        const target = new URL(session.callback);
        target.searchParams.set("verificationSessionId", session.session_id);
        target.searchParams.set("status", session.status);
        return reply.redirect(target.toString(), 303);
      }
      return reply.type("text/html; charset=utf-8").send(sessionPage(session));
    },
  );
}
