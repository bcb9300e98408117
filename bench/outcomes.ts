import type pg from "pg";
import type { Offer } from "./load.js";
import { waitForProgress } from "./progress.js";

const TERMINAL = ["imported", "rejected", "expired", "failed", "cancelled"];

/** One accepted share as both partners recorded it. */
export interface ShareOutcome {
  shareId: string;
  acceptedAt: number;
  /** partner-a: status, import status, source session, when the result was applied. */
  statusA: string;
  importStatusA: string | null;
  sessionId: string;
  /** partner-a's accept transaction (created_at) and the transaction that queued the offer (sent_at). */
  createdAtA: number;
  sentAtA: number;
  appliedAtA: number;
  /** partner-b: rows for this share (must be 1), status, the Didit copy, when the outcome was recorded. */
  rowsB: number;
  statusB: string | null;
  decidedAtB: number | null;
  receivedAtB: number | null;
  sharedFromSession: string | null;
  diditSessionId: string | null;
}

export interface Correctness {
  ok: boolean;
  checked: number;
  problems: string[];
}

/** Waits until partner-a holds a terminal state for every share id (or the phase stalls). */
export async function waitForTerminal(
  dbA: pg.Pool,
  shareIds: readonly string[],
  what: string,
  stallMs: number,
  terminal: readonly string[] = TERMINAL,
): Promise<void> {
  await waitForProgress(
    what,
    shareIds.length,
    async () => {
      const { rows } = await dbA.query<{ status: string; n: string }>(
        "select status, count(*) as n from shares where share_id = any($1::uuid[]) group by status",
        [shareIds],
      );
      const done = rows
        .filter((row) => terminal.includes(row.status))
        .reduce((sum, row) => sum + Number(row.n), 0);
      return { done, detail: rows.map((row) => `${row.status} ${row.n}`).join(", ") };
    },
    stallMs,
    shareIds.length > 10_000 ? 1_000 : 250,
  );
}

const ms = (value: string | null) => (value === null ? null : Number(value));

/** Reads both partners' records of the accepted shares (timestamps as epoch milliseconds). */
export async function collectOutcomes(
  dbA: pg.Pool,
  dbB: pg.Pool,
  offers: readonly Offer[],
): Promise<ShareOutcome[]> {
  const accepted = offers.filter((offer) => offer.shareId !== undefined);
  const ids = accepted.map((offer) => offer.shareId as string);
  const { rows: atA } = await dbA.query<{
    share_id: string;
    status: string;
    import_status: string | null;
    session_id: string;
    created_ms: string;
    sent_ms: string | null;
    applied_ms: string;
  }>(
    `select share_id, status, import_status, session_id,
            extract(epoch from created_at) * 1000 as created_ms,
            extract(epoch from sent_at) * 1000 as sent_ms,
            extract(epoch from updated_at) * 1000 as applied_ms
       from shares where share_id = any($1::uuid[])`,
    [ids],
  );
  const { rows: atB } = await dbB.query<{
    share_id: string;
    status: string;
    decided_ms: string | null;
    received_ms: string;
    shared_from_session: string | null;
    didit_session_id: string | null;
  }>(
    `select share_id, status, extract(epoch from decided_at) * 1000 as decided_ms,
            extract(epoch from received_at) * 1000 as received_ms, shared_from_session, didit_session_id
       from imports where source_partner = 'partner-a' and share_id = any($1::text[])`,
    [ids],
  );
  const byIdA = new Map(atA.map((row) => [row.share_id, row]));
  const byIdB = new Map<string, (typeof atB)[number][]>();
  for (const row of atB) byIdB.set(row.share_id, [...(byIdB.get(row.share_id) ?? []), row]);
  return accepted.map((offer) => {
    const shareId = offer.shareId as string;
    const a = byIdA.get(shareId);
    const b = byIdB.get(shareId) ?? [];
    const first = b[0];
    return {
      shareId,
      acceptedAt: offer.answeredAt,
      statusA: a?.status ?? "missing",
      importStatusA: a?.import_status ?? null,
      sessionId: a?.session_id ?? "",
      createdAtA: ms(a?.created_ms ?? null) ?? Number.NaN,
      sentAtA: ms(a?.sent_ms ?? null) ?? Number.NaN,
      appliedAtA: ms(a?.applied_ms ?? null) ?? Number.NaN,
      rowsB: b.length,
      statusB: first?.status ?? null,
      decidedAtB: ms(first?.decided_ms ?? null),
      receivedAtB: ms(first?.received_ms ?? null),
      sharedFromSession: first?.shared_from_session ?? null,
      diditSessionId: first?.didit_session_id ?? null,
    };
  });
}

/**
 * Every offer accepted (202), and every accepted share imported exactly once: partner-a says
 * imported, partner-b holds one import row for it, imported, whose Didit copy comes from the share's
 * session, and no Didit copy or source session is claimed by two imports.
 */
export function checkOutcomes(offers: readonly Offer[], outcomes: readonly ShareOutcome[]): Correctness {
  const problems: string[] = [];
  const note = (text: string) => {
    if (problems.length < 20) problems.push(text);
    else if (problems.length === 20) problems.push("… more problems not listed");
  };
  const refused = offers.filter((offer) => offer.status !== 202 || offer.shareId === undefined);
  if (refused.length > 0) {
    note(`${refused.length} offers not accepted, e.g. ${refused[0]?.status} ${refused[0]?.error ?? ""}`);
  }
  const copies = new Set<string>();
  const sources = new Set<string>();
  for (const outcome of outcomes) {
    const id = outcome.shareId;
    if (outcome.statusA !== "imported" || outcome.importStatusA !== "imported") {
      note(`${id}: partner-a says ${outcome.statusA}/${outcome.importStatusA ?? "-"}`);
    }
    if (outcome.rowsB !== 1) note(`${id}: partner-b holds ${outcome.rowsB} import rows`);
    if (outcome.statusB !== "imported") note(`${id}: partner-b says ${outcome.statusB ?? "nothing"}`);
    if (outcome.sharedFromSession !== outcome.sessionId) {
      note(`${id}: imported copy is of ${outcome.sharedFromSession}, the share is of ${outcome.sessionId}`);
    }
    if (outcome.diditSessionId) {
      if (copies.has(outcome.diditSessionId)) note(`${id}: Didit copy ${outcome.diditSessionId} used twice`);
      copies.add(outcome.diditSessionId);
    }
    if (sources.has(outcome.sessionId)) note(`${id}: source session ${outcome.sessionId} imported twice`);
    sources.add(outcome.sessionId);
  }
  return { ok: problems.length === 0, checked: outcomes.length, problems };
}

/**
 * Didit's side of "exactly once": lists every session of partner-b's application at the sandbox and
 * checks that each shared source session has exactly one imported copy, and nothing else was copied.
 */
export async function checkDiditImports(
  listPage: (offset: number) => Promise<{ results: { shared_from_session: string | null }[]; next: unknown }>,
  sourceSessions: ReadonlySet<string>,
): Promise<Correctness> {
  const copies = new Map<string, number>();
  for (let offset = 0; ; offset += 1000) {
    const page = await listPage(offset);
    for (const session of page.results) {
      const source = session.shared_from_session;
      if (source) copies.set(source, (copies.get(source) ?? 0) + 1);
    }
    if (!page.next || page.results.length === 0) break;
  }
  const problems: string[] = [];
  for (const source of sourceSessions) {
    const count = copies.get(source) ?? 0;
    if (count !== 1 && problems.length < 20) problems.push(`source session ${source}: ${count} copies`);
  }
  for (const [source, count] of copies) {
    if (!sourceSessions.has(source) && problems.length < 20) {
      problems.push(`unexpected copy of ${source} (${count})`);
    }
  }
  return { ok: problems.length === 0, checked: sourceSessions.size, problems };
}
