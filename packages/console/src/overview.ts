import {
  type Import,
  importListSchema,
  type PartnerAAuditEvent,
  type PartnerBAuditEvent,
  partnerAAuditPageSchema,
  partnerBAuditPageSchema,
  type Share,
  shareListSchema,
  shareSchema,
} from "@share-broker/contracts";
import { type PartnerApi, PartnerApiError } from "./partner-api.js";

// The partners' answers are parsed with the contract's own schemas: a partner that drifts from it
// shows as "answered an unexpected body" on the page rather than as a half-drawn row.
export type ShareAtA = Share;
export type ImportAtB = Import;
type AuditEvent = PartnerAAuditEvent | PartnerBAuditEvent;

export type Side = "partner-a" | "partner-b";

/** One line of the merged audit trail: what happened, where, when. */
export interface TimelineEvent {
  side: Side;
  id: string;
  occurred_at: string;
  action: string;
  outcome: string;
  token_id: string | null;
  token_expires_at: string | null;
  details: Record<string, unknown>;
}

/** A share as both sides see it: partner-a's record and partner-b's import, if any. */
export interface ShareRow {
  share: ShareAtA;
  import_at_b: ImportAtB | null;
}

export interface SelectedShare {
  share_id: string;
  share: ShareAtA | null;
  imports: ImportAtB[];
  timeline: TimelineEvent[];
}

export interface SourceState {
  url: string;
  ok: boolean;
  error: string | null;
}

export interface Overview {
  generated_at: string;
  status_filter: string | null;
  sources: Record<Side, SourceState>;
  shares: ShareRow[];
  selected: SelectedShare | null;
}

export interface OverviewQuery {
  status?: string | undefined;
  shareId?: string | undefined;
  limit?: number;
}

export interface Partners {
  a: PartnerApi;
  b: PartnerApi;
}

const q = encodeURIComponent;

/** Runs `load`; a partner that cannot answer is recorded in `sources` instead of failing the page. */
async function attempt<T>(source: SourceState, fallback: T, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!(error instanceof PartnerApiError)) throw error;
    source.ok = false;
    source.error ??= error.message;
    return fallback;
  }
}

/** By time; within one side by event id (append-only, so insertion order); partner-a first on a tie. */
function chronologically(x: TimelineEvent, y: TimelineEvent): number {
  const byTime = Date.parse(x.occurred_at) - Date.parse(y.occurred_at);
  if (byTime !== 0) return byTime;
  if (x.side !== y.side) return x.side === "partner-a" ? -1 : 1;
  return x.id.length - y.id.length || x.id.localeCompare(y.id);
}

function timelineOf(side: Side, events: AuditEvent[]): TimelineEvent[] {
  return events.map((event) => ({
    side,
    id: event.id,
    occurred_at: event.occurred_at,
    action: event.action,
    outcome: event.outcome,
    token_id: event.token_id,
    token_expires_at: event.token_expires_at,
    details: event.details,
  }));
}

/**
 * partner-a's events of the share, and of the consent and verification that led to it (those
 * carry no share id: they are found by the user and kept when they concern this share).
 */
function storyAtA(
  share: ShareAtA | null,
  byShare: PartnerAAuditEvent[],
  byUser: PartnerAAuditEvent[],
): PartnerAAuditEvent[] {
  if (!share) return byShare;
  const before = Date.parse(share.created_at);
  const related = byUser.filter((event) => {
    if (event.share_id) return false;
    if (event.action.startsWith("consent.")) return event.details.consent_id === share.consent_id;
    return event.action.startsWith("verification.") && Date.parse(event.occurred_at) <= before;
  });
  return [...related, ...byShare];
}

async function selectedShare(partners: Partners, sources: Overview["sources"], shareId: string) {
  const a = sources["partner-a"];
  const b = sources["partner-b"];
  const [share, auditA, imports, auditB] = await Promise.all([
    attempt(a, undefined, () => partners.a.get(`/v1/shares/${q(shareId)}`, shareSchema)),
    attempt(a, undefined, () =>
      partners.a.get(`/v1/audit?share_id=${q(shareId)}&limit=200`, partnerAAuditPageSchema),
    ),
    attempt(b, undefined, () =>
      partners.b.get(`/v1/imports?share_id=${q(shareId)}&limit=20`, importListSchema),
    ),
    attempt(b, undefined, () =>
      partners.b.get(`/v1/audit?share_id=${q(shareId)}&limit=200`, partnerBAuditPageSchema),
    ),
  ]);
  const userAudit = share
    ? await attempt(a, undefined, () =>
        partners.a.get(`/v1/audit?user_id=${q(share.user_id)}&limit=200`, partnerAAuditPageSchema),
      )
    : undefined;
  const timeline = [
    ...timelineOf("partner-a", storyAtA(share ?? null, auditA?.events ?? [], userAudit?.events ?? [])),
    ...timelineOf("partner-b", auditB?.events ?? []),
  ].sort(chronologically);
  return { share_id: shareId, share: share ?? null, imports: imports?.imports ?? [], timeline };
}

/** What the console shows: partner-a's newest shares with partner-b's imports, and one share in full. */
export async function buildOverview(partners: Partners, query: OverviewQuery = {}): Promise<Overview> {
  const sources: Overview["sources"] = {
    "partner-a": { url: partners.a.baseUrl, ok: true, error: null },
    "partner-b": { url: partners.b.baseUrl, ok: true, error: null },
  };
  const limit = query.limit ?? 50;
  const status = query.status ? `&status=${q(query.status)}` : "";
  const [shareList, importList, selected] = await Promise.all([
    attempt(sources["partner-a"], undefined, () =>
      partners.a.get(`/v1/shares?limit=${limit}${status}`, shareListSchema),
    ),
    // B's newest imports, matched by share id; a share older than these shows no B import here.
    attempt(sources["partner-b"], undefined, () =>
      partners.b.get(`/v1/imports?limit=${Math.min(200, limit * 4)}`, importListSchema),
    ),
    query.shareId ? selectedShare(partners, sources, query.shareId) : Promise.resolve(null),
  ]);
  const importsByShare = new Map<string, ImportAtB>();
  for (const found of importList?.imports ?? []) {
    if (!importsByShare.has(found.share_id)) importsByShare.set(found.share_id, found);
  }
  return {
    generated_at: new Date().toISOString(),
    status_filter: query.status ?? null,
    sources,
    shares: (shareList?.shares ?? []).map((share) => ({
      share,
      import_at_b: importsByShare.get(share.share_id) ?? null,
    })),
    selected,
  };
}
