import { randomInt, randomUUID } from "node:crypto";
import type { SessionKind, SessionStatus } from "@share-broker/didit";
import type { SandboxWorkflow } from "./applications.js";
import type { PackedBlocks } from "./packed-blocks.js";

/**
 * Decision blocks (docs/DIDIT.md#decision-update-status-list-delete): plural arrays, each null until its
 * feature has run.
 */
export const FEATURE_BLOCKS = [
  "id_verifications",
  "nfc_verifications",
  "liveness_checks",
  "face_matches",
  "poa_verifications",
  "document_ai_documents",
  "phone_verifications",
  "email_verifications",
  "aml_screenings",
  "ip_analyses",
  "database_validations",
  "questionnaire_responses",
] as const;

export type FeatureBlockName = (typeof FEATURE_BLOCKS)[number];
export type FeatureItem = Record<string, unknown> & { node_id: string; status: string };
export type FeatureBlocks = Record<FeatureBlockName, FeatureItem[] | null>;

export function emptyFeatureBlocks(): FeatureBlocks {
  return Object.fromEntries(FEATURE_BLOCKS.map((name) => [name, null])) as FeatureBlocks;
}

export interface SandboxSession {
  session_id: string;
  session_number: number;
  session_token: string;
  application_id: string;
  workflow_id: string;
  workflow_version: number;
  workflow_kind: SandboxWorkflow["kind"];
  workflow_name: string;
  session_kind: SessionKind;
  status: SessionStatus;
  vendor_data: string | null;
  callback: string | null;
  callback_method: string;
  metadata: Record<string, unknown> | null;
  language: string | null;
  contact_details: Record<string, unknown> | null;
  expected_details: Record<string, unknown> | null;
  /** The hosted page; null for imported copies (docs/DIDIT.md#what-the-sandbox-assumes). */
  url: string | null;
  created_at_ms: number;
  expires_at_ms: number;
  shared_from_session: string | null;
  features: string[];
  /** Decision results, packed off the V8 heap (see PackedBlocks); `unpack()` to read them. */
  blocks: PackedBlocks;
  reviews: unknown[];
}

const TOKEN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

function sessionToken(): string {
  let token = "";
  for (let i = 0; i < 12; i++) token += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return token;
}

const FIRST_SESSION_NUMBER = 43_000;

/**
 * Sessions of every application, and the import ledger: one import per (source session, receiving
 * application), released when the imported copy is deleted (docs/DIDIT.md#import-a-shared-session).
 */
export class SessionStore {
  readonly #sessions = new Map<string, SandboxSession>();
  readonly #idsByToken = new Map<string, string>();
  /** `${source session}|${receiving application}` → the imported copy's id. */
  readonly #imports = new Map<string, string>();
  #nextNumber = FIRST_SESSION_NUMBER;

  /**
   * A new session's id, number and token. Copy them into the session field by field: Node 20's V8
   * gives every object built as `{ ...identity, … }` in optimised code a hidden class of its own, so
   * each stored session carried a private map and descriptor array (about 1 KiB more heap per session,
   * and every property read of a session megamorphic).
   */
  newIdentity(): Pick<SandboxSession, "session_id" | "session_number" | "session_token"> {
    return { session_id: randomUUID(), session_number: this.#nextNumber++, session_token: sessionToken() };
  }

  add(session: SandboxSession): void {
    this.#sessions.set(session.session_id, session);
    this.#idsByToken.set(session.session_token, session.session_id);
  }

  get(sessionId: string): SandboxSession | undefined {
    return this.#sessions.get(sessionId.toLowerCase());
  }

  /** A session only as its own application sees it: another application's session does not exist. */
  getOwned(sessionId: string, applicationId: string): SandboxSession | undefined {
    const session = this.get(sessionId);
    return session?.application_id === applicationId ? session : undefined;
  }

  byToken(token: string): SandboxSession | undefined {
    const id = this.#idsByToken.get(token);
    return id === undefined ? undefined : this.#sessions.get(id);
  }

  /** Newest first. */
  listFor(applicationId: string): SandboxSession[] {
    return [...this.#sessions.values()]
      .filter((session) => session.application_id === applicationId)
      .sort((a, b) => b.created_at_ms - a.created_at_ms || b.session_number - a.session_number);
  }

  delete(sessionId: string): void {
    const session = this.get(sessionId);
    if (!session) return;
    this.#sessions.delete(session.session_id);
    this.#idsByToken.delete(session.session_token);
    for (const [pair, copyId] of this.#imports) {
      if (copyId === session.session_id) this.#imports.delete(pair);
    }
  }

  importedCopyOf(sourceSessionId: string, receivingApplicationId: string): string | undefined {
    return this.#imports.get(`${sourceSessionId}|${receivingApplicationId}`);
  }

  recordImport(sourceSessionId: string, receivingApplicationId: string, copyId: string): void {
    this.#imports.set(`${sourceSessionId}|${receivingApplicationId}`, copyId);
  }

  reset(): void {
    this.#sessions.clear();
    this.#idsByToken.clear();
    this.#imports.clear();
    this.#nextNumber = FIRST_SESSION_NUMBER;
  }
}
