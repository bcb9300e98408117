import { describe, expect, it } from "vitest";
import { canonicalJson, shorten } from "../src/index.js";

const ascii = { ascii: true };
const unicode = { ascii: false };

describe("canonicalJson", () => {
  it("sorts keys as strings at every depth, integer-like keys included", () => {
    const value = { b: 1, a: { "10": 0, "9": 0, "2": 0, z: [{ y: 1, x: 2 }] } };
    expect(canonicalJson(value, ascii)).toBe('{"a":{"10":0,"2":0,"9":0,"z":[{"x":2,"y":1}]},"b":1}');
  });

  it("escapes control characters as Python does and never escapes '/'", () => {
    const value = '\b\f\n\r\t\u0000\u001f"\\/';
    expect(canonicalJson(value, ascii)).toBe('"\\b\\f\\n\\r\\t\\u0000\\u001f\\"\\\\/"');
    expect(canonicalJson(value, unicode)).toBe(canonicalJson(value, ascii));
  });

  it("escapes U+007F and above as lowercase \\uxxxx in ascii mode, per UTF-16 code unit", () => {
    expect(canonicalJson("\u007fé北😀\u2028", ascii)).toBe('"\\u007f\\u00e9\\u5317\\ud83d\\ude00\\u2028"');
  });

  it("keeps U+007F and above literal in unicode mode", () => {
    expect(canonicalJson("\u007fé北😀\u2028", unicode)).toBe('"\u007fé北😀\u2028"');
  });

  it("writes a lone surrogate as a lowercase escape in both modes", () => {
    expect(canonicalJson("\ud800", ascii)).toBe('"\\ud800"');
    expect(canonicalJson("\udfff", unicode)).toBe('"\\udfff"');
  });

  it("writes whole floats as integers and keeps fractional ones", () => {
    expect(canonicalJson({ score: 100.0, zero: 0.0, negativeZero: -0, fraction: 96.15 }, ascii)).toBe(
      '{"fraction":96.15,"negativeZero":0,"score":100,"zero":0}',
    );
  });

  it("keeps an own __proto__ key as data", () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as object;
    expect(canonicalJson(value, ascii)).toBe('{"__proto__":{"polluted":true},"a":1}');
    expect(canonicalJson(shorten(value), ascii)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });

  it("omits undefined object members, as a Python dict without them would", () => {
    expect(canonicalJson({ a: undefined, b: null }, ascii)).toBe('{"b":null}');
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a Date", new Date(0)],
    ["a Map", new Map()],
    ["a function", () => 1],
    ["a bigint", 1n],
    ["undefined in an array", [undefined]],
  ])("refuses %s rather than signing something other than what is sent", (_label, value) => {
    expect(() => canonicalJson(value, ascii)).toThrow(TypeError);
  });
});

describe("shorten", () => {
  it("maps nested values without changing their JSON", () => {
    const value = { a: [1, 2.5, { b: 100.0 }], c: "x", d: null };
    expect(shorten(value)).toEqual(value);
  });

  it("turns -0 into 0, as Python's int(-0.0) does", () => {
    expect(Object.is(shorten(-0), 0)).toBe(true);
  });
});
