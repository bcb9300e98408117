import type { FastifyInstance } from "fastify";
import { sessionKindOf } from "../applications.js";
import { isoSeconds } from "../clock.js";
import type { SandboxContext } from "../context.js";
import { bodyObject, detailError, FieldErrors } from "../drf-errors.js";
import { readBoolean, readString, readUuid } from "../field-validation.js";
import type { SandboxSession } from "../store.js";
import { callerOf, diditRoute } from "./didit-api.js";

/**
 * `POST /v3/session/import-shared/` → 201 (docs/DIDIT.md#import-a-shared-session). The checks run in its
 * table's order and the first failure answers. One import per (source session, receiving application),
 * whichever token is used; the copy is cloned as the source stands now, and no webhook is sent
 * (docs/DIDIT.md#what-the-sandbox-assumes).
 */
export function registerImportSharedRoute(app: FastifyInstance, ctx: SandboxContext): void {
  app.post("/session/import-shared/", diditRoute("write"), async (request, reply) => {
    const application = callerOf(request);

    // 2. body
    const body = bodyObject(request.body);
    const errors = new FieldErrors();
    const shareToken = readString(body, "share_token", errors, { required: true });
    const workflowId = readUuid(body, "workflow_id", errors, { required: true });
    const trustReview = readBoolean(body, "trust_review", errors);
    const vendorData = readString(body, "vendor_data", errors, { allowNull: true, maxLength: 1000 });
    errors.throwIfAny();

    // 3. token: malformed, forged or expired
    const claims = ctx.shareTokens.verify(shareToken as string, ctx.clock.nowSeconds());
    if (!claims) throw detailError(401, "Invalid or expired share token.");

    // 4. addressed to another application
    if (claims.for_application_id.toLowerCase() !== application.application_id.toLowerCase()) {
      throw detailError(403, "This share token was issued for another application.");
    }

    // 5. source session gone
    const source = ctx.store.get(claims.session_id);
    if (!source || source.application_id.toLowerCase() !== claims.from_application_id.toLowerCase()) {
      throw detailError(404, "The shared session no longer exists.");
    }

    // 6. workflow of the caller
    const workflow = ctx.applications.workflow(application, workflowId as string);
    if (!workflow) throw detailError(404, "Workflow not found.");

    // 7. kind
    if (sessionKindOf(workflow) !== claims.session_kind) {
      const kindErrors = new FieldErrors();
      kindErrors.add(
        "workflow_id",
        `The workflow is a ${workflow.kind === "kyb" ? "KYB" : "KYC"} workflow but the shared session is a ${
          claims.session_kind === "business" ? "KYB" : "KYC"
        } session.`,
      );
      kindErrors.throwIfAny();
    }

    // 8. already imported into this application
    if (ctx.store.importedCopyOf(source.session_id, application.application_id) !== undefined) {
      throw detailError(403, "Session has already been imported.");
    }

    const now = ctx.clock.now();
    const identity = ctx.store.newIdentity();
    const copy: SandboxSession = {
      // Written out, not spread: see SessionStore.newIdentity.
      session_id: identity.session_id,
      session_number: identity.session_number,
      session_token: identity.session_token,
      application_id: application.application_id,
      workflow_id: workflow.workflow_id.toLowerCase(),
      workflow_version: workflow.version,
      workflow_kind: workflow.kind,
      workflow_name: workflow.name,
      session_kind: claims.session_kind,
      status: trustReview === true ? source.status : "In Review",
      vendor_data: vendorData ?? null,
      callback: null,
      callback_method: "initiator",
      metadata: null,
      language: source.language,
      contact_details: structuredClone(source.contact_details),
      expected_details: structuredClone(source.expected_details),
      url: null,
      created_at_ms: now,
      expires_at_ms: now + ctx.config.SANDBOX_SESSION_LIFETIME_SECONDS * 1000,
      shared_from_session: source.session_id,
      features: [...source.features],
      blocks: source.blocks,
      reviews: [],
    };
    ctx.lifecycle.register(copy);
    ctx.store.recordImport(source.session_id, application.application_id, copy.session_id);
    return reply.code(201).send({
      session_id: copy.session_id,
      session_number: copy.session_number,
      session_url: null,
      status: copy.status,
      workflow_id: copy.workflow_id,
      vendor_data: copy.vendor_data,
      created_at: isoSeconds(copy.created_at_ms),
      expires_at: isoSeconds(copy.expires_at_ms),
      session_kind: copy.session_kind,
      shared_from_session: copy.shared_from_session,
    });
  });
}
