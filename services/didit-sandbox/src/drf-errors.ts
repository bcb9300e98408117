/**
 * Didit's error bodies, Django REST framework style (docs/DIDIT.md#base-facts): `{"detail": "…"}` for 401,
 * 403, 404, 429 and non-field 400; `{"<field>": ["…"]}` for field validation.
 */
export class DrfError extends Error {
  readonly statusCode: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(statusCode: number, body: Record<string, unknown>, headers: Record<string, string> = {}) {
    super(typeof body.detail === "string" ? body.detail : `HTTP ${statusCode}`);
    this.name = "DrfError";
    this.statusCode = statusCode;
    this.body = body;
    this.headers = headers;
  }
}

export function detailError(statusCode: number, detail: string, headers?: Record<string, string>): DrfError {
  return new DrfError(statusCode, { detail }, headers);
}

export const notFound = () => detailError(404, "Not found.");

export const REQUIRED = "This field is required.";
export const NOT_NULL = "This field may not be null.";
export const NOT_BLANK = "This field may not be blank.";
export const INVALID_UUID = "Must be a valid UUID.";
export const INVALID_STRING = "Not a valid string.";
export const INVALID_BOOLEAN = "Must be a valid boolean.";
export const INVALID_INTEGER = "A valid integer is required.";
export const INVALID_URL = "Enter a valid URL.";
export const INVALID_EMAIL = "Enter a valid email address.";

export const invalidChoice = (value: unknown) => `"${String(value)}" is not a valid choice.`;
export const expectedDictionary = (value: unknown) =>
  `Expected a dictionary of items but got type "${jsonTypeName(value)}".`;
export const expectedList = (value: unknown) =>
  `Expected a list of items but got type "${jsonTypeName(value)}".`;

/** DRF names Python types in its messages. */
function jsonTypeName(value: unknown): string {
  if (value === null) return "NoneType";
  if (Array.isArray(value)) return "list";
  if (typeof value === "string") return "str";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  return "dict";
}

/** Collects every failing field, then throws one 400 naming them all, as a DRF serializer does. */
export class FieldErrors {
  readonly #errors: Record<string, string[] | Record<string, unknown>> = {};

  add(field: string, message: string): void {
    const messages = this.#errors[field];
    this.#errors[field] = Array.isArray(messages) ? [...messages, message] : [message];
  }

  /** A nested serializer's errors, reported as `{"field": {"inner": [...]}}`. */
  nest(field: string, inner: FieldErrors): void {
    if (!inner.isEmpty()) this.#errors[field] = inner.toBody();
  }

  has(field: string): boolean {
    return field in this.#errors;
  }

  isEmpty(): boolean {
    return Object.keys(this.#errors).length === 0;
  }

  toBody(): Record<string, unknown> {
    return { ...this.#errors };
  }

  throwIfAny(): void {
    if (!this.isEmpty()) throw new DrfError(400, this.toBody());
  }
}

/** The request body as a JSON object; a missing body reads as `{}`, anything else is a 400. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body === "object" && !Array.isArray(body)) return body as Record<string, unknown>;
  throw new DrfError(400, {
    non_field_errors: [`Invalid data. Expected a dictionary, but got ${jsonTypeName(body)}.`],
  });
}
