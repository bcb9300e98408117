import {
  expectedDictionary,
  expectedList,
  type FieldErrors,
  INVALID_BOOLEAN,
  INVALID_EMAIL,
  INVALID_INTEGER,
  INVALID_STRING,
  INVALID_URL,
  INVALID_UUID,
  invalidChoice,
  NOT_BLANK,
  NOT_NULL,
  REQUIRED,
} from "./drf-errors.js";

/**
 * DRF-like field readers: each returns the value when valid, records the field's error otherwise and
 * returns undefined. Absent optional fields are undefined; fields that allow null return null.
 */

type Body = Record<string, unknown>;
interface FieldRule {
  required?: boolean;
  allowNull?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

function present(body: Body, name: string, errors: FieldErrors, rule: FieldRule): boolean | null {
  const value = body[name];
  if (value === undefined) {
    if (rule.required) errors.add(name, REQUIRED);
    return false;
  }
  if (value === null) {
    if (!rule.allowNull) errors.add(name, NOT_NULL);
    return null;
  }
  return true;
}

export function readString(
  body: Body,
  name: string,
  errors: FieldErrors,
  rule: FieldRule & { maxLength?: number } = {},
): string | null | undefined {
  const state = present(body, name, errors, rule);
  if (state !== true) return state === null && rule.allowNull ? null : undefined;
  const value = body[name];
  if (typeof value !== "string" && typeof value !== "number") {
    errors.add(name, INVALID_STRING);
    return undefined;
  }
  const text = String(value);
  if (rule.required && text.trim() === "") {
    errors.add(name, NOT_BLANK);
    return undefined;
  }
  if (rule.maxLength !== undefined && text.length > rule.maxLength) {
    errors.add(name, `Ensure this field has no more than ${rule.maxLength} characters.`);
    return undefined;
  }
  return text;
}

/** A UUID, lowercased for lookups. */
export function readUuid(
  body: Body,
  name: string,
  errors: FieldErrors,
  rule: FieldRule = {},
): string | undefined {
  const state = present(body, name, errors, rule);
  if (state !== true) return undefined;
  const value = body[name];
  if (typeof value !== "string" || !isUuid(value)) {
    errors.add(name, INVALID_UUID);
    return undefined;
  }
  return value.toLowerCase();
}

export function readBoolean(
  body: Body,
  name: string,
  errors: FieldErrors,
  rule: FieldRule = {},
): boolean | undefined {
  const state = present(body, name, errors, rule);
  if (state !== true) return undefined;
  const value = body[name];
  if (typeof value !== "boolean") {
    errors.add(name, INVALID_BOOLEAN);
    return undefined;
  }
  return value;
}

/** An integer, also as a string of decimal digits (a DRF IntegerField accepts both). */
export function readInteger(
  body: Body,
  name: string,
  errors: FieldErrors,
  rule: FieldRule & { min?: number; max?: number } = {},
): number | undefined {
  const state = present(body, name, errors, rule);
  if (state !== true) return undefined;
  const value = body[name];
  let number: number | undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) number = value;
  else if (typeof value === "string" && /^\s*-?\d{1,15}\s*$/.test(value)) number = Number(value.trim());
  if (number === undefined) {
    errors.add(name, INVALID_INTEGER);
    return undefined;
  }
  if (rule.min !== undefined && number < rule.min) {
    errors.add(name, `Ensure this value is greater than or equal to ${rule.min}.`);
    return undefined;
  }
  if (rule.max !== undefined && number > rule.max) {
    errors.add(name, `Ensure this value is less than or equal to ${rule.max}.`);
    return undefined;
  }
  return number;
}

export function readChoice<T extends string>(
  body: Body,
  name: string,
  errors: FieldErrors,
  choices: readonly T[],
  rule: FieldRule = {},
): T | undefined {
  const state = present(body, name, errors, rule);
  if (state !== true) return undefined;
  const value = body[name];
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    errors.add(name, invalidChoice(typeof value === "string" ? value : JSON.stringify(value)));
    return undefined;
  }
  return value as T;
}

export function readHttpUrl(
  body: Body,
  name: string,
  errors: FieldErrors,
  rule: FieldRule = {},
): string | null | undefined {
  const text = readString(body, name, errors, { ...rule, maxLength: 2000 });
  if (typeof text !== "string") return text;
  try {
    const url = new URL(text);
    if (url.protocol === "http:" || url.protocol === "https:") return text;
  } catch {
    // reported below
  }
  errors.add(name, INVALID_URL);
  return undefined;
}

export function readEmail(
  body: Body,
  name: string,
  errors: FieldErrors,
  rule: FieldRule = {},
): string | null | undefined {
  const text = readString(body, name, errors, { ...rule, maxLength: 254 });
  if (typeof text !== "string") return text;
  if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text)) return text;
  errors.add(name, INVALID_EMAIL);
  return undefined;
}

export function readObject(
  body: Body,
  name: string,
  errors: FieldErrors,
  rule: FieldRule = {},
): Record<string, unknown> | null | undefined {
  const state = present(body, name, errors, rule);
  if (state !== true) return state === null && rule.allowNull ? null : undefined;
  const value = body[name];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    errors.add(name, expectedDictionary(value));
    return undefined;
  }
  return value as Record<string, unknown>;
}

export function readList(
  body: Body,
  name: string,
  errors: FieldErrors,
  rule: FieldRule = {},
): unknown[] | undefined {
  const state = present(body, name, errors, rule);
  if (state !== true) return undefined;
  const value = body[name];
  if (!Array.isArray(value)) {
    errors.add(name, expectedList(value));
    return undefined;
  }
  return value;
}
