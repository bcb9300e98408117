import { isReusableByCreate } from "@share-broker/didit";
import type { FastifyInstance } from "fastify";
import { sessionKindOf } from "../applications.js";
import type { SandboxContext } from "../context.js";
import { bodyObject, FieldErrors, notFound } from "../drf-errors.js";
import {
  readBoolean,
  readChoice,
  readEmail,
  readHttpUrl,
  readList,
  readObject,
  readString,
  readUuid,
} from "../field-validation.js";
import { featuresOf } from "../kyc-data.js";
import { PackedBlocks } from "../packed-blocks.js";
import type { SandboxSession } from "../store.js";
import { callerOf, diditRoute, requestOrigin } from "./didit-api.js";

const CALLBACK_METHODS = ["initiator", "completer", "both"] as const;
const PORTRAIT_MAX_BYTES = 1024 * 1024;

function readContactDetails(value: Record<string, unknown>, errors: FieldErrors): Record<string, unknown> {
  const inner = new FieldErrors();
  const email = readEmail(value, "email", inner, { allowNull: true });
  const sendNotificationEmails = readBoolean(value, "send_notification_emails", inner);
  const emailLang = readString(value, "email_lang", inner, { allowNull: true, maxLength: 10 });
  const phone = readString(value, "phone", inner, { allowNull: true });
  if (typeof phone === "string" && !/^\+[1-9]\d{6,14}$/.test(phone)) {
    inner.add("phone", "Enter a valid phone number in E.164 format.");
  }
  errors.nest("contact_details", inner);
  return {
    email: email ?? null,
    email_lang: emailLang ?? null,
    send_notification_emails: sendNotificationEmails ?? false,
    phone: phone ?? null,
  };
}

function readExpectedDetails(value: Record<string, unknown>, errors: FieldErrors): Record<string, unknown> {
  const inner = new FieldErrors();
  const out: Record<string, unknown> = {};
  for (const name of [
    "first_name",
    "last_name",
    "nationality",
    "id_country",
    "poa_country",
    "country",
    "address",
    "identification_number",
    "ip_address",
  ]) {
    const text = readString(value, name, inner, { allowNull: true });
    if (text !== undefined) out[name] = text;
  }
  const dateOfBirth = readString(value, "date_of_birth", inner, { allowNull: true });
  if (typeof dateOfBirth === "string" && !/^\d{4}-\d{2}-\d{2}$/.test(dateOfBirth)) {
    inner.add("date_of_birth", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.");
  } else if (dateOfBirth !== undefined) out.date_of_birth = dateOfBirth;
  if (value.gender !== undefined) {
    const gender = readChoice(value, "gender", inner, ["M", "F"] as const, { allowNull: true });
    if (gender !== undefined || value.gender === null) out.gender = gender ?? null;
  }
  const documentTypes = readList(value, "expected_document_types", inner);
  if (documentTypes?.every((item) => typeof item === "string")) out.expected_document_types = documentTypes;
  else if (documentTypes) inner.add("expected_document_types", "Not a valid string.");
  errors.nest("expected_details", inner);
  return out;
}

/** `POST /v3/session/` (docs/DIDIT.md#create-session), with the reuse rule for `vendor_data`. */
export function registerCreateSessionRoute(app: FastifyInstance, ctx: SandboxContext): void {
  app.post("/session/", diditRoute("create"), async (request, reply) => {
    const application = callerOf(request);
    const body = bodyObject(request.body);
    const errors = new FieldErrors();
    const workflowId = readUuid(body, "workflow_id", errors, { required: true });
    const vendorData = readString(body, "vendor_data", errors, { allowNull: true, maxLength: 1000 });
    const callback = readHttpUrl(body, "callback", errors, { allowNull: true });
    const callbackMethod = readChoice(body, "callback_method", errors, CALLBACK_METHODS);
    const metadata = readObject(body, "metadata", errors, { allowNull: true });
    const language = readString(body, "language", errors, { allowNull: true, maxLength: 10 });
    const contact = readObject(body, "contact_details", errors, { allowNull: true });
    const expected = readObject(body, "expected_details", errors, { allowNull: true });
    const portrait = readString(body, "portrait_image", errors, { allowNull: true });
    const contactDetails = contact ? readContactDetails(contact, errors) : null;
    const expectedDetails = expected ? readExpectedDetails(expected, errors) : null;
    if (typeof portrait === "string" && Buffer.byteLength(portrait, "base64") > PORTRAIT_MAX_BYTES) {
      errors.add("portrait_image", "The image must not be larger than 1 MB.");
    }
    errors.throwIfAny();
    const workflow = ctx.applications.workflow(application, workflowId as string);
    if (!workflow) throw notFound();

    if (vendorData) {
      // Reuse rule (docs/DIDIT.md#create-session): an unfinished session on the workflow's latest version is
      // handed back.
      const reusable = ctx.store
        .listFor(application.application_id)
        .find(
          (session) =>
            session.vendor_data === vendorData &&
            session.workflow_id === workflow.workflow_id.toLowerCase() &&
            session.workflow_version === workflow.version &&
            session.url !== null &&
            isReusableByCreate(session.status),
        );
      if (reusable) {
        reusable.callback = callback ?? null;
        reusable.metadata = metadata ?? null;
        return reply.code(201).send(createdBody(reusable));
      }
    }

    const now = ctx.clock.now();
    const identity = ctx.store.newIdentity();
    const publicBase = (ctx.config.SANDBOX_PUBLIC_URL ?? requestOrigin(request)).replace(/\/+$/, "");
    const session: SandboxSession = {
      // Written out, not spread: see SessionStore.newIdentity.
      session_id: identity.session_id,
      session_number: identity.session_number,
      session_token: identity.session_token,
      application_id: application.application_id,
      workflow_id: workflow.workflow_id.toLowerCase(),
      workflow_version: workflow.version,
      workflow_kind: workflow.kind,
      workflow_name: workflow.name,
      session_kind: sessionKindOf(workflow),
      status: "Not Started",
      vendor_data: vendorData ?? null,
      callback: callback ?? null,
      callback_method: callbackMethod ?? "initiator",
      metadata: metadata ?? null,
      language: language ?? null,
      contact_details: contactDetails,
      expected_details: workflow.kind === "kyb" ? null : expectedDetails,
      url: `${publicBase}/session/${identity.session_token}`,
      created_at_ms: now,
      expires_at_ms: now + ctx.config.SANDBOX_SESSION_LIFETIME_SECONDS * 1000,
      shared_from_session: null,
      features: featuresOf(workflow.kind),
      blocks: PackedBlocks.none,
      reviews: [],
    };
    ctx.lifecycle.register(session);
    return reply.code(201).send(createdBody(session));
  });
}

function createdBody(session: SandboxSession): Record<string, unknown> {
  return {
    session_id: session.session_id,
    session_number: session.session_number,
    session_token: session.session_token,
    url: session.url,
    vendor_data: session.vendor_data,
    metadata: session.metadata,
    status: session.status,
    workflow_id: session.workflow_id,
    workflow_version: session.workflow_version,
    callback: session.callback,
    session_kind: session.session_kind,
  };
}
