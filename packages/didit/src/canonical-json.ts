/**
 * The JSON form Didit signs webhooks over (docs/DIDIT.md#webhooks, and traps 1–3 in docs/DIDIT.md#traps):
 * Python's `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=…)` after `shorten`.
 *
 * `JSON.stringify` cannot be used on the whole value: JS objects list integer-like keys ("2", "9", "10")
 * first in numeric order, while Python sorts them as strings ("10" < "2" < "9"). So keys are emitted here
 * in `Object.keys(o).sort()` order (UTF-16 code units). Python sorts by code point; the two orders differ
 * only for keys mixing characters above U+FFFF with characters in U+E000..U+FFFF, which Didit never sends.
 *
 * Scalars still go through `JSON.stringify`, whose escaping already matches Python's: `"` `\` and
 * \b \f \n \r \t by name, other U+0000..U+001F as lowercase \u00xx, "/" never escaped.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface CanonicalJsonOptions {
  /**
   * true: every UTF-16 code unit from U+007F up is written as lowercase `\uxxxx` (Python `ensure_ascii`);
   * this is the raw body Didit sends and the X-Signature input. false: such characters stay literal;
   * this is the X-Signature-V2 input.
   */
  ascii: boolean;
}

const NON_ASCII_OR_DEL = /[\u007f-\uffff]/g;

export function canonicalJson(value: unknown, options: CanonicalJsonOptions): string {
  return write(value, options.ascii);
}

function write(value: unknown, ascii: boolean): string {
  if (typeof value === "string") return writeString(value, ascii);
  if (typeof value === "number") return writeNumber(value);
  if (typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value)) return `[${value.map((item) => writeArrayItem(item, ascii)).join(",")}]`;
  if (isPlainObject(value)) {
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = value[key];
      // Matches JSON.stringify: an undefined member is absent, which is what a Python dict without it sends.
      if (member !== undefined) members.push(`${writeString(key, ascii)}:${write(member, ascii)}`);
    }
    return `{${members.join(",")}}`;
  }
  throw new TypeError(`canonicalJson: ${describe(value)} is not a JSON value`);
}

function writeArrayItem(item: unknown, ascii: boolean): string {
  // JSON.stringify would write null here, silently changing what gets signed.
  if (item === undefined) throw new TypeError("canonicalJson: undefined is not a JSON value");
  return write(item, ascii);
}

function writeString(value: string, ascii: boolean): string {
  // JSON.stringify also escapes lone surrogates as lowercase \udxxx, as Python's ensure_ascii does.
  const json = JSON.stringify(value);
  return ascii ? json.replace(NON_ASCII_OR_DEL, escapeCodeUnit) : json;
}

function escapeCodeUnit(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

function writeNumber(value: number): string {
  // Python would emit NaN/Infinity, which no JSON parser (nor Didit) accepts.
  if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
  // Python and JS agree for Didit's values (scores 0..100, integer ids and timestamps). They differ for
  // non-integral magnitudes below 1e-4 ("1e-05" vs "1e-5") and whole values >= 1e21 (docs/DIDIT.md#traps).
  return JSON.stringify(value);
}

/**
 * Didit's `shorten`: a float with zero fraction becomes an integer (100.0 → 100), recursively.
 *
 * In JS this changes no output: there is one number type, so `100.0` parses to the same value as `100`
 * and prints as "100", and -0 prints as "0" like Python's int(-0.0). It is kept so the signing pipeline
 * reads like Didit's and the trap stays visible: a lossless/decimal JSON parser that preserved "100.0"
 * would break every digest over a body with such a score (docs/DIDIT.md#traps).
 */
export function shorten(value: unknown): unknown {
  if (typeof value === "number") return Number.isInteger(value) ? value + 0 : value;
  if (Array.isArray(value)) return value.map(shorten);
  if (isPlainObject(value)) {
    // fromEntries defines own properties, so a "__proto__" key stays a key.
    return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, shorten(member)]));
  }
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}
