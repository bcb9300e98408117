import { type ErrorBody, ErrorCode, type ErrorCodeValue } from "@share-broker/contracts";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

export { type ErrorBody, ErrorCode, errorBodySchema } from "@share-broker/contracts";

/** An error whose status, code and message are safe to show to the caller. */
export class AppError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCodeValue;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(
    statusCode: number,
    code: ErrorCodeValue,
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

/** The field a validation issue reports as absent (zod: an invalid type that received undefined). */
function missingField(issue: NonNullable<FastifyError["validation"]>[number]): string | undefined {
  if (issue.params && "missingProperty" in issue.params) return String(issue.params.missingProperty);
  if (issue.keyword === "invalid_type" && /received undefined/.test(issue.message ?? "")) {
    return issue.instancePath.split("/").at(-1) || undefined;
  }
  return undefined;
}

/** Codes for fastify's other 4xx errors, by status. */
const CODE_FOR_STATUS: Record<number, ErrorCodeValue> = {
  401: ErrorCode.unauthenticated,
  403: ErrorCode.forbidden,
  404: ErrorCode.notFound,
  405: ErrorCode.methodNotAllowed,
  413: ErrorCode.payloadTooLarge,
  415: ErrorCode.unsupportedMediaType,
  429: ErrorCode.rateLimited,
};

function fromFastifyError(error: FastifyError): AppError | undefined {
  if (error.validation) {
    const where = error.validationContext ?? "request";
    const details = error.validation.map((issue) => {
      const missing = missingField(issue);
      return {
        path: `${where}${issue.instancePath || ""}`,
        message: issue.message ?? "is invalid",
        ...(missing ? { field: missing } : {}),
      };
    });
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
        CODE_FOR_STATUS[status] ?? ErrorCode.validationFailed,
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
    // The code, not the message: a refusal's message echoes the caller's input (a path, a field's
    // value), which can be a user id. The caller reads the message; the log needs the code.
    request.log.info({ code: appError.code, status: appError.statusCode }, "request refused");
  }
  const body: ErrorBody = { error: { code: appError.code, message: appError.message } };
  if (appError.details !== undefined) body.error.details = appError.details;
  return reply.code(appError.statusCode).headers(appError.headers).type("application/json").send(body);
}

/** An answer computed elsewhere (e.g. from a Didit failure) as the error this service throws. */
export function answerError(
  answer: { status: number; code: ErrorCodeValue; message: string; retryAfterSeconds?: number },
  cause?: unknown,
): AppError {
  return new AppError(answer.status, answer.code, answer.message, {
    headers: answer.retryAfterSeconds ? { "retry-after": String(answer.retryAfterSeconds) } : {},
    cause,
  });
}
