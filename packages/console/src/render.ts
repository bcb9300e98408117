import type { ImportAtB, Overview, SelectedShare, ShareAtA, ShareRow, TimelineEvent } from "./overview.js";

/** Everything rendered goes through here: partner data is never trusted as markup. */
export function escapeHtml(value: unknown): string {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** partner-a's share states, in the order a share goes through them, with what each means. */
export const SHARE_STATES: ReadonlyArray<readonly [string, string]> = [
  ["accepted", "the user's consent was checked and the request recorded; nothing sent yet"],
  ["minted", "Didit issued a short-lived share token addressed to the recipient's Didit application"],
  ["sent", "the token, sealed and signed, is on the recipient's inbox queue"],
  ["imported", "the recipient imported the verification into its own Didit application"],
  [
    "rejected",
    "the recipient refused the offer (link code refused, expired token, wrong audience, already imported…)",
  ],
  ["expired", "no answer came back before the token's expiry plus a grace period"],
  ["failed", "the share could not be minted or sent (Didit refused it)"],
  ["cancelled", "the consent was withdrawn before the share was sent"],
];

const IMPORT_STATES: ReadonlyArray<readonly [string, string]> = [
  ["received", "the sealed offer arrived and was opened (sender and audience verified)"],
  ["importing", "partner-b is calling Didit's import-shared with its own policy"],
  ["imported", "the verified session now exists in partner-b's Didit application"],
  ["rejected", "the offer could not be imported (the reason says why); never retried"],
  ["failed", "the import gave up after retries"],
];

/** Audit actions in plain words, for readers who do not know the code. */
const ACTIONS: Record<string, string> = {
  "verification.created": "Verification session created at Didit",
  "verification.status_changed": "Didit reported the verification's status (signed webhook)",
  "consent.granted": "The user consented to share their verification",
  "consent.withdrawn": "The user withdrew their consent",
  "share.accepted": "Share requested and accepted",
  "share.refused": "Share request refused",
  "share.minted": "Didit minted a share token for the recipient",
  "share.sent": "Sealed offer sent to the recipient's inbox",
  "share.redriven": "Offer sent again (no result had come back)",
  "share.redrive_scheduled": "Offer to be sent again (no result yet)",
  "share.result": "Import result received from the recipient",
  "share.result_late": "Late import result received",
  "share.result_rejected": "An import result was refused",
  "share.result_ignored": "An import result was ignored",
  "share.result_replayed": "A replayed or older import result was refused",
  "share.expired": "No result came back before expiry",
  "share.failed": "The share failed",
  "share.cancelled": "The share was cancelled",
  "result.dead_lettered": "An import result could not be opened (set aside)",
  "import.received": "Sealed offer received and opened",
  "import.imported": "Verification imported into partner-b's Didit application",
  "import.rejected": "Offer rejected",
  "import.failed": "Import failed",
  "import.replayed": "Offer delivered again: no second import",
  "import.retry_scheduled": "Didit was unavailable: import retry scheduled",
  "import.review_requested": "Compliance decision sent to Didit",
  "import.review_failed": "Compliance decision could not be sent",
  "import.session_status_changed": "Didit reported a new status for the imported session",
  "result.sent": "Import result sent back to partner-a",
  "envelope.dead_lettered": "An offer could not be opened (set aside)",
};

const GOOD = new Set(["imported", "approved", "granted", "applied", "ok", "sent_result"]);
const BAD = new Set([
  "rejected",
  "failed",
  "declined",
  "expired",
  "cancelled",
  "abandoned",
  "kyc expired",
  "withdrawn",
  "refused",
  "dead_lettered",
  "error",
]);

function tone(state: string): "good" | "bad" | "wait" {
  const key = state.toLowerCase();
  if (GOOD.has(key)) return "good";
  if (BAD.has(key)) return "bad";
  return "wait";
}

function badge(state: string | null | undefined, title?: string): string {
  if (!state) return `<span class="none">—</span>`;
  const hint = title ? ` title="${escapeHtml(title)}"` : "";
  return `<span class="badge ${tone(state)}"${hint}>${escapeHtml(state)}</span>`;
}

/** `2025-01-31T12:00:01.234Z` → `2025-01-31 12:00:01.234 UTC`. */
function when(iso: string | null | undefined): string {
  if (!iso) return `<span class="none">—</span>`;
  const shown = iso.replace("T", " ").replace(/Z$/, " UTC");
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(shown)}</time>`;
}

const shortId = (id: string) => id.slice(0, 8);

function shareLink(shareId: string, statusFilter: string | null, text: string): string {
  const params = new URLSearchParams({ share: shareId });
  if (statusFilter) params.set("status", statusFilter);
  return `<a href="/?${escapeHtml(params.toString())}" data-share="${escapeHtml(shareId)}">${text}</a>`;
}

function shareRow(row: ShareRow, overview: Overview): string {
  const { share, import_at_b: atB } = row;
  const selected = overview.selected?.share_id === share.share_id;
  const sessionAtB = atB?.didit?.status ?? share.import?.session_status ?? null;
  const note = share.reason ?? atB?.reason ?? share.import?.reason ?? "";
  return `<tr data-share="${escapeHtml(share.share_id)}"${selected ? ` class="selected"` : ""}>
<td>${when(share.created_at)}</td>
<td class="mono">${shareLink(share.share_id, overview.status_filter, escapeHtml(shortId(share.share_id)))}</td>
<td>${escapeHtml(share.user_id ?? "")}</td>
<td>${escapeHtml(share.audience)}</td>
<td>${escapeHtml(share.purpose)} · ${escapeHtml(share.scope)}</td>
<td>${badge(share.status)}</td>
<td>${badge(atB?.status)}</td>
<td>${badge(sessionAtB)}</td>
<td>${escapeHtml(note)}</td>
</tr>`;
}

function sharesFragment(overview: Overview): string {
  const head = `<thead><tr><th>Created</th><th>Share</th><th>User at partner-a</th><th>Shared with</th>
<th>Purpose · scope</th><th>Share at partner-a</th><th>Import at partner-b</th><th>Didit status at partner-b</th><th>Reason</th></tr></thead>`;
  const rows = overview.shares.map((row) => shareRow(row, overview)).join("\n");
  const empty = overview.shares.length
    ? ""
    : `<tr><td colspan="9" class="empty">No shares${overview.status_filter ? ` with status ${escapeHtml(overview.status_filter)}` : ""} yet.</td></tr>`;
  return `<table class="shares">${head}<tbody>${rows}${empty}</tbody></table>`;
}

function facts(pairs: Array<[string, string]>): string {
  return `<dl>${pairs.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${value}</dd>`).join("")}</dl>`;
}

function sharerCard(share: ShareAtA | null, shareId: string): string {
  if (!share) {
    return `<section class="card"><h3>partner-a (sharer)</h3><p>partner-a has no share ${escapeHtml(shareId)}.</p></section>`;
  }
  const result = share.import;
  return `<section class="card"><h3>partner-a (sharer)</h3>${facts([
    ["Status", badge(share.status)],
    ["User", escapeHtml(share.user_id ?? "")],
    ["Consent", `<span class="mono">${escapeHtml(share.consent_id ?? "")}</span>`],
    ["Shared with", escapeHtml(share.audience)],
    ["Purpose · scope", `${escapeHtml(share.purpose)} · ${escapeHtml(share.scope)}`],
    ["Token expires", when(share.expires_at)],
    ["Requested", when(share.created_at)],
    ["Last change", when(share.updated_at)],
    [
      "Result from partner-b",
      result
        ? `${badge(result.status)} Didit status ${badge(result.session_status)}${result.reason ? ` (${escapeHtml(result.reason)})` : ""} at ${when(result.at)}`
        : `<span class="none">none yet</span>`,
    ],
    ["Reason", escapeHtml(share.reason ?? "—")],
  ])}</section>`;
}

function policyText(found: ImportAtB): string {
  const policy = found.policy;
  if (!policy) return `<span class="none">not applied yet</span>`;
  const trust =
    policy.trust_review === true
      ? "keeps partner-a's verdict (trust_review)"
      : policy.trust_review === false
        ? "lands in review for partner-b's compliance team"
        : "";
  return `${escapeHtml(policy.version ?? "")}: ${escapeHtml(trust)}`;
}

function importerCard(imports: ImportAtB[]): string {
  if (imports.length === 0) {
    return `<section class="card"><h3>partner-b (importer)</h3><p class="none">partner-b has not received this share yet.</p></section>`;
  }
  const cards = imports.map(
    (found) =>
      `${facts([
        ["Import", `<span class="mono">${escapeHtml(found.import_id)}</span>`],
        ["Status", badge(found.status)],
        ["From", escapeHtml(found.source)],
        ["Didit session", `<span class="mono">${escapeHtml(found.didit?.session_id ?? "—")}</span>`],
        ["Didit status", badge(found.didit?.status)],
        ["Policy", policyText(found)],
        ["Customer reference", escapeHtml(found.vendor_data ?? "—")],
        ["Link request", `<span class="mono">${escapeHtml(found.link_id ?? "—")}</span>`],
        ["Review", found.review ? escapeHtml(found.review.decision) : `<span class="none">none</span>`],
        ["Received", when(found.received_at)],
        ["Decided", when(found.decided_at)],
        ["Reason", escapeHtml(found.reason ?? "—")],
      ])}`,
  );
  return `<section class="card"><h3>partner-b (importer)</h3>${cards.join("<hr>")}</section>`;
}

function detailsText(event: TimelineEvent): string {
  const pairs = Object.entries(event.details).filter(([, value]) => value !== null && value !== undefined);
  if (event.token_id) pairs.push(["token_id", event.token_id]);
  if (event.token_expires_at) pairs.push(["token_expires_at", event.token_expires_at]);
  return pairs
    .map(([key, value]) => {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      const shown = text.length > 120 ? `${text.slice(0, 117)}…` : text;
      return `<span class="kv"><span class="k">${escapeHtml(key)}</span> ${escapeHtml(shown)}</span>`;
    })
    .join(" ");
}

function timelineTable(timeline: TimelineEvent[]): string {
  if (timeline.length === 0) return `<p class="none">No audit events yet.</p>`;
  const rows = timeline.map(
    (event) => `<tr>
<td class="nowrap">${when(event.occurred_at)}</td>
<td><span class="side ${escapeHtml(event.side)}">${escapeHtml(event.side)}</span></td>
<td>${escapeHtml(ACTIONS[event.action] ?? event.action)}<br><span class="mono small">${escapeHtml(event.action)}</span></td>
<td>${badge(event.outcome)}</td>
<td class="small">${detailsText(event)}</td>
</tr>`,
  );
  return `<table class="timeline"><thead><tr><th>When</th><th>Where</th><th>What happened</th><th>Outcome</th>
<th>Details</th></tr></thead><tbody>${rows.join("\n")}</tbody></table>`;
}

function detailFragment(selected: SelectedShare | null): string {
  if (!selected) return `<p class="hint">Select a share to see both sides' records and audit trail.</p>`;
  return `<h2>Share <span class="mono">${escapeHtml(selected.share_id)}</span></h2>
<div class="cards">${sharerCard(selected.share, selected.share_id)}${importerCard(selected.imports)}</div>
<h3>Audit trail, both sides, oldest first</h3>
${timelineTable(selected.timeline)}`;
}

function statusFragment(overview: Overview): string {
  const sources = Object.entries(overview.sources).map(
    ([name, source]) =>
      `<span class="source ${source.ok ? "up" : "down"}">${escapeHtml(name)} <span class="mono">${escapeHtml(source.url)}</span>${source.ok ? "" : `: ${escapeHtml(source.error ?? "unavailable")}`}</span>`,
  );
  return `${sources.join(" ")} <span id="live">updated ${when(overview.generated_at)}</span>`;
}

/** The parts of the page the script replaces on every refresh, keyed by element id. */
export function fragments(overview: Overview): Record<string, string> {
  return {
    "console-status": statusFragment(overview),
    "console-shares": sharesFragment(overview),
    "console-detail": detailFragment(overview.selected),
  };
}

function filterLinks(current: string | null): string {
  const link = (state: string | null, text: string) => {
    const href = state ? `/?status=${encodeURIComponent(state)}` : "/";
    return state === current
      ? `<strong>${escapeHtml(text)}</strong>`
      : `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>`;
  };
  return [link(null, "all"), ...SHARE_STATES.map(([state]) => link(state, state))].join(" · ");
}

function legend(): string {
  const list = (states: ReadonlyArray<readonly [string, string]>) =>
    `<dl>${states.map(([state, meaning]) => `<dt>${badge(state)}</dt><dd>${escapeHtml(meaning)}</dd>`).join("")}</dl>`;
  return `<details class="legend"><summary>What the states mean</summary>
<div class="cards"><section><h3>A share at partner-a</h3>${list(SHARE_STATES)}</section>
<section><h3>An import at partner-b</h3>${list(IMPORT_STATES)}
<p>"Didit status" is the imported session's verification status in partner-b's own Didit application:
Approved when partner-b's policy keeps partner-a's verdict, In Review when its compliance team decides.</p></section></div>
</details>`;
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{background:#1d2433;color:#fff;padding:.75rem 1.25rem}
header h1{font-size:1.2rem;margin:0}
header p{margin:.25rem 0 0;font-size:.85rem;color:#c9d1e0}
main{padding:1rem 1.25rem}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{border-bottom:1px solid #e3e6eb;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}
tr[data-share]{cursor:pointer}
tr[data-share]:hover{background:#f0f5ff}
tr.selected{background:#e3edff}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:.6rem;font-size:.8rem;font-weight:600;white-space:nowrap}
.badge.good{background:#d8f3df;color:#17612c}
.badge.bad{background:#fbdcdc;color:#8a1c1c}
.badge.wait{background:#fff0c7;color:#6b4e00}
.none{color:#8a93a3}
.mono{font-family:ui-monospace,monospace}
.small{font-size:.8rem}
.kv{display:inline-block;margin-right:.6rem}.k{color:#5b6474}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:.5rem 0 1rem}
.card{background:#fff;border:1px solid #e3e6eb;border-radius:8px;padding:.5rem 1rem;flex:1 1 24rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.5rem 0}dt{font-weight:600}dd{margin:0}
.side{font-size:.8rem;font-weight:600;padding:.05rem .4rem;border-radius:4px;white-space:nowrap}
.nowrap{white-space:nowrap}
.side.partner-a{background:#e0ecff;color:#1d4f9c}.side.partner-b{background:#efe3ff;color:#5b2a9c}
.source{margin-right:1rem}.source.up::before{content:"● ";color:#2f9e44}.source.down::before{content:"● ";color:#d6336c}
#console-status{font-size:.85rem;color:#c9d1e0}
.offline #console-status{color:#ffb3b3}
.filters{margin:.5rem 0;font-size:.9rem}
.legend{margin:.5rem 0 1rem}
.hint,.empty{color:#5b6474}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:.5rem 0}
`;

/**
 * The refresher: polls the JSON endpoint and swaps in the server-rendered (escaped) fragments.
 * Selecting a share updates the address, so the page can be bookmarked or reloaded as it is.
 */
const SCRIPT = `
(() => {
  const refreshMs = Number(document.body.dataset.refreshMs) || 1000;
  const shown = new Map();
  let inFlight = false;
  async function refresh() {
    if (inFlight || document.hidden) return;
    inFlight = true;
    try {
      const response = await fetch("/api/shares" + location.search, { headers: { accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const body = await response.json();
      for (const [id, html] of Object.entries(body.html)) {
        const element = document.getElementById(id);
        if (element && shown.get(id) !== html) {
          element.innerHTML = html;
          shown.set(id, html);
        }
      }
      document.body.classList.remove("offline");
    } catch (error) {
      document.body.classList.add("offline");
      const live = document.getElementById("live");
      if (live) live.textContent = "cannot reach the console: " + error.message;
    } finally {
      inFlight = false;
    }
  }
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("[data-share]") : null;
    if (!target || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    const params = new URLSearchParams(location.search);
    params.set("share", target.getAttribute("data-share"));
    history.pushState(null, "", "/?" + params.toString());
    refresh();
  });
  window.addEventListener("popstate", refresh);
  document.addEventListener("visibilitychange", refresh);
  setInterval(refresh, refreshMs);
})();
`;

export interface PageOptions {
  nonce: string;
  refreshMs: number;
}

/** The whole page, rendered on the server; the script only refreshes it. */
export function renderPage(overview: Overview, options: PageOptions): string {
  const parts = fragments(overview);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>share-broker console</title>
<style nonce="${escapeHtml(options.nonce)}">${STYLE}</style>
</head>
<body data-refresh-ms="${escapeHtml(options.refreshMs)}">
<header>
<h1>share-broker console</h1>
<p>Development tool, read-only: what partner-a's and partner-b's APIs say about shares and imports.
Refreshes by itself.</p>
<p id="console-status">${parts["console-status"]}</p>
</header>
<main>
<h2>Shares from partner-a and their imports at partner-b</h2>
<p class="filters">Show: ${filterLinks(overview.status_filter)}</p>
${legend()}
<div id="console-shares">${parts["console-shares"]}</div>
<div id="console-detail">${parts["console-detail"]}</div>
</main>
<script nonce="${escapeHtml(options.nonce)}">${SCRIPT}</script>
</body>
</html>`;
}
