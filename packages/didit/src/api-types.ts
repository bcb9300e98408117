/**
 * Wire shapes of the Didit v3 endpoints the client calls (docs/DIDIT.md). Field names are Didit's
 * snake_case on purpose: these types describe JSON, and renaming would hide which field is which.
 * Response types list the documented fields; Didit may add more, hence the index signatures.
 */
import type { SessionStatus, UpdatableSessionStatus } from "./status.js";

/** KYC sessions are "user", KYB sessions "business". */
export type SessionKind = "user" | "business";

// ── create session (docs/DIDIT.md#create-session) ────────────────────────────────────────────────

export interface ContactDetails {
  email?: string;
  send_notification_emails?: boolean;
  email_lang?: string;
  /** E.164; ignored for KYB. */
  phone?: string;
}

export interface ExpectedDetails {
  first_name?: string;
  last_name?: string;
  /** YYYY-MM-DD */
  date_of_birth?: string;
  gender?: "M" | "F" | null;
  /** ISO 3166 alpha-3 */
  nationality?: string;
  id_country?: string;
  poa_country?: string;
  country?: string;
  address?: string;
  identification_number?: string;
  ip_address?: string;
  expected_document_types?: string[];
}

export interface CreateSessionRequest {
  workflow_id: string;
  /** The caller's user/entity id. Giving it makes create idempotent (reuse rule), so only then is it retried. */
  vendor_data?: string;
  callback?: string;
  callback_method?: "initiator" | "completer" | "both";
  /** Echoed back, never shown to the user. */
  metadata?: Record<string, unknown>;
  language?: string;
  contact_details?: ContactDetails;
  expected_details?: ExpectedDetails;
  /** Base64, at most 1 MB; biometric-authentication workflows only. */
  portrait_image?: string;
}

export interface CreatedSession {
  session_id: string;
  session_number: number;
  session_token: string;
  url: string;
  vendor_data: string | null;
  metadata: Record<string, unknown> | null;
  status: SessionStatus;
  workflow_id: string;
  workflow_version?: number;
  callback: string | null;
  session_kind?: SessionKind;
  [field: string]: unknown;
}

// ── share and import-shared (docs/DIDIT.md#share-a-session) ──────────────────────────────────────

export interface ShareSessionRequest {
  /** The receiving Didit application. */
  for_application_id: string;
  /** 60..86400; Didit's default is 3600. Sent as a JSON integer. */
  ttl_in_seconds?: number;
}

export interface SharedSession {
  /** HS256 JWT; a bearer secret. Never log or store it in clear. */
  share_token: string;
  for_application_id: string;
  /** Absent from older Didit responses. */
  session_kind?: SessionKind;
  [field: string]: unknown;
}

export interface ImportSharedSessionRequest {
  share_token: string;
  /** A workflow of the receiving application, of the same kind (KYC/KYB) as the token. */
  workflow_id: string;
  /**
   * true keeps the source verdict; false lands the copy in "In Review". Always sent: Didit's pages disagree
   * on whether it is required.
   */
  trust_review: boolean;
  vendor_data?: string;
}

export interface ImportedSession {
  session_id: string;
  session_number: number;
  session_url: string | null;
  status: SessionStatus;
  workflow_id: string;
  vendor_data: string | null;
  created_at?: string;
  expires_at?: string;
  session_kind?: SessionKind;
  /** The source session id; the key for reconciling an import whose response was lost. */
  shared_from_session?: string;
  [field: string]: unknown;
}

// ── decision (docs/DIDIT.md#decision-update-status-list-delete) ──────────────────────────────────

/** Feature-level statuses differ from session statuses ("Not Finished", "No Action"). */
export type FeatureStatus =
  | "Approved"
  | "Declined"
  | "In Review"
  | "Not Finished"
  | "No Action"
  | (string & {});

export interface FeatureResult {
  node_id: string;
  status: FeatureStatus;
  [field: string]: unknown;
}

export interface IdVerificationResult extends FeatureResult {
  document_type?: string | null;
  document_subtype?: string | null;
  document_number?: string | null;
  personal_number?: string | null;
  /** Media fields are presigned URLs valid for 60 minutes. */
  portrait_image?: string | null;
  front_image?: string | null;
  back_image?: string | null;
  date_of_birth?: string | null;
  age?: number | null;
  expiration_date?: string | null;
  date_of_issue?: string | null;
  issuing_state?: string | null;
  issuing_state_name?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  full_name?: string | null;
  gender?: string | null;
  address?: string | null;
  formatted_address?: string | null;
  warnings?: unknown[];
}

export interface SessionDecision {
  session_id: string;
  session_kind?: SessionKind;
  session_number: number;
  session_url: string | null;
  status: SessionStatus;
  environment?: string;
  workflow_id: string;
  features?: string[];
  vendor_data: string | null;
  metadata: Record<string, unknown> | null;
  expected_details?: ExpectedDetails | null;
  contact_details?: ContactDetails | null;
  callback: string | null;
  reviews?: unknown[];
  /** Sandbox extension: the source session when this one was imported, else null. */
  shared_from_session?: string | null;
  // Each block is null until its feature has run.
  id_verifications?: IdVerificationResult[] | null;
  nfc_verifications?: FeatureResult[] | null;
  liveness_checks?: FeatureResult[] | null;
  face_matches?: FeatureResult[] | null;
  poa_verifications?: FeatureResult[] | null;
  document_ai_documents?: FeatureResult[] | null;
  phone_verifications?: FeatureResult[] | null;
  email_verifications?: FeatureResult[] | null;
  aml_screenings?: FeatureResult[] | null;
  ip_analyses?: FeatureResult[] | null;
  database_validations?: FeatureResult[] | null;
  questionnaire_responses?: FeatureResult[] | null;
  [field: string]: unknown;
}

// ── update-status, list (docs/DIDIT.md#decision-update-status-list-delete) ───────────────────────

export interface UpdateSessionStatusRequest {
  new_status: UpdatableSessionStatus;
  comment?: string;
  send_email?: boolean;
  /** Required when send_email is true. */
  email_address?: string;
  email_language?: string;
  nodes_to_resubmit?: { node_id: string; feature: string }[];
}

export interface UpdatedSessionStatus {
  session_id: string;
  /** Absent from older Didit responses. */
  session_kind?: SessionKind;
  [field: string]: unknown;
}

export interface ListSessionsQuery {
  vendor_data?: string;
  status?: SessionStatus;
  country?: string;
  workflow_id?: string;
  offset?: number;
  /** Didit's default is 20. */
  limit?: number;
}

export interface SessionSummary {
  session_id: string;
  session_number?: number;
  session_kind?: SessionKind;
  status: SessionStatus;
  workflow_id?: string;
  vendor_data?: string | null;
  created_at?: string;
  shared_from_session?: string | null;
  [field: string]: unknown;
}

export interface SessionPage {
  count: number;
  /** Absolute URLs (DRF limit-offset pagination). */
  next: string | null;
  previous: string | null;
  results: SessionSummary[];
}
