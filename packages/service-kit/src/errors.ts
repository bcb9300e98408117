import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

/** Stable error codes shared by every service; services add their own domain codes. */
export const ErrorCode = {
  validationFailed: "validation_failed",
  malformedJson: "malformed_json",
  unauthenticated: "unauthenticated",
  forbidden: "forbidden",
  notFound: "not_found",
  methodNotAllowed: "method_not_allowed",
  payloadTooLarge: "payload_too_large",
  unsupportedMediaType: "unsupported_media_type",
  rateLimited: "rate_limited",
  serviceUnavailable: "service_unavailable",
  internal: "internal_error",
} as const;

/** An error whose status, code and message are safe to show to the caller. */
export class AppError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    options: { details?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "AppError";
    this.statusCode = statusCode;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** JSON schema of the error body, for route response schemas. */
export const errorBodySchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
    },
  },
} as const;

function fromFastifyError(error: FastifyError): AppError | undefined {
  if (error.validation) {
    const where = error.validationContext ?? "request";
    const details = error.validation.map((issue) => ({
      path: `${where}${issue.instancePath || ""}`,
      message: issue.message ?? "is invalid",
      ...(issue.params && "missingProperty" in issue.params ? { field: issue.params.missingProperty } : {}),
    }));
    return new AppError(400, ErrorCode.validationFailed, error.message, { details });
  }
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new AppError(400, ErrorCode.malformedJson, "The request body is not valid JSON.");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError(
        413,
        ErrorCode.payloadTooLarge,
        "The request body is larger than this service accepts.",
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new AppError(
        415,
        ErrorCode.unsupportedMediaType,
        "Unsupported Content-Type: send application/json.",
      );
    default:
      break;
  }
  // secure-json-parse raises a bare SyntaxError that fastify marks as a 400.
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return new AppError(400, ErrorCode.malformedJson, "The request body is not valid JSON.");
  }
  if (error.statusCode === 429) {
    return new AppError(429, ErrorCode.rateLimited, "Too many requests; retry later.");
  }
  if (error.statusCode === 503 && error.code === "FST_ERR_SERVER_CLOSING") {
    return new AppError(503, ErrorCode.serviceUnavailable, "The service is shutting down.");
  }
  return undefined;
}

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error && typeof error === "object" && "statusCode" in error) {
    const mapped = fromFastifyError(error as FastifyError);
    if (mapped) return mapped;
    const status = Number((error as FastifyError).statusCode);
    if (status >= 400 && status < 500) {
      return new AppError(
        status,
        (error as FastifyError).code?.toLowerCase() ?? "bad_request",
        String((error as FastifyError).message),
      );
    }
  }
  return new AppError(500, ErrorCode.internal, "Internal server error.");
}

/** The one error handler: stable codes, and messages echoed only below 500. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = toAppError(error);
  if (appError.statusCode >= 500) {
    request.log.error({ err: error }, "request failed");
  } else {
    request.log.info({ code: appError.code, status: appError.statusCode }, appError.message);
  }
  const body: ErrorBody = { error: { code: appError.code, message: appError.message } };
  if (appError.details !== undefined) body.error.details = appError.details;
  return reply.code(appError.statusCode).headers(appError.headers).type("application/json").send(body);
}

/** An answer computed elsewhere (e.g. from a Didit failure) as the error this service throws. */
export function answerError(
  answer: { status: number; code: string; message: string; retryAfterSeconds?: number },
  cause?: unknown,
): AppError {
  return new AppError(answer.status, answer.code, answer.message, {
    headers: answer.retryAfterSeconds ? { "retry-after": String(answer.retryAfterSeconds) } : {},
    cause,
  });
}
