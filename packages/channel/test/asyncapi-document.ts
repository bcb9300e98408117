import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type DiagnosticSeverity, Parser } from "@asyncapi/parser";
import { Ajv, type ValidateFunction } from "ajv";
import ajvFormats from "ajv-formats";
import { z } from "zod";

/** docs/asyncapi.yaml: the channel's contract for partners, checked against this package. */
export const ASYNCAPI_FILE = fileURLToPath(new URL("../../../docs/asyncapi.yaml", import.meta.url));

export type Json = any;

export interface ParsedAsyncApi {
  /** The document with every $ref resolved and the parser's own `x-parser-*` annotations dropped. */
  doc: Json;
  diagnostics: Array<{ code: string | number; severity: DiagnosticSeverity; message: string; path: unknown }>;
}

export async function parseAsyncApi(file: string = ASYNCAPI_FILE): Promise<ParsedAsyncApi> {
  const { document, diagnostics } = await new Parser().parse(await readFile(file, "utf8"));
  const report = diagnostics.map(({ code, severity, message, path }) => ({ code, severity, message, path }));
  return { doc: document ? withoutParserAnnotations(document.json()) : undefined, diagnostics: report };
}

function withoutParserAnnotations(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutParserAnnotations);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith("x-parser-"))
      .map(([key, child]) => [key, withoutParserAnnotations(child)]),
  );
}

// Keywords that explain a schema without constraining values: the document has them, zod does not.
const ANNOTATIONS = new Set(["title", "description", "examples", "default"]);
// Keywords whose value maps names (of properties, definitions) to schemas.
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "definitions", "$defs"]);

/** What a schema requires of values: annotations and extensions dropped, constraints kept. */
export function contractOf(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(contractOf);
  if (schema === null || typeof schema !== "object") return schema;
  const contract: Record<string, Json> = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword) || keyword.startsWith("x-")) continue;
    contract[keyword] = SCHEMA_MAPS.has(keyword)
      ? Object.fromEntries(Object.entries(value as object).map(([name, child]) => [name, contractOf(child)]))
      : contractOf(value);
  }
  return contract;
}

/** A zod schema as JSON Schema draft-07, the dialect AsyncAPI 3.0 schemas build on. */
export function jsonSchemaOf(schema: z.ZodType): Json {
  const { $schema: _dialect, ...jsonSchema } = z.toJSONSchema(schema, { target: "draft-7" });
  return jsonSchema;
}

// A CommonJS module whose exports object is also its default export: under NodeNext typing the
// default import is the module, whose `default` is the plugin at run time as in the types.
const addFormats = ajvFormats.default;

/** Validators for the document's schemas, compiled once each. */
export class SchemaValidators {
  // Strict, but for two JSON Schema idioms the document uses: `not: { required: [...] }` names a
  // member that must be absent (so it is not among the properties), and keywords such as
  // `required` inside `not`/`contains` apply to objects without repeating `type: object`.
  readonly #ajv = addFormats(
    new Ajv({ allErrors: true, strict: true, strictRequired: false, strictTypes: false }),
  );
  readonly #compiled = new Map<Json, ValidateFunction>();

  /** The errors of `value` against `schema`, as readable lines; empty when it is valid. */
  errors(schema: Json, value: unknown): string[] {
    let validate = this.#compiled.get(schema);
    if (validate === undefined) {
      // The document's own annotations stay; only vendor extensions are unknown to ajv.
      const compiled = this.#ajv.compile(withoutExtensions(schema));
      this.#compiled.set(schema, compiled);
      validate = compiled;
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath || "(root)"} ${error.message}`);
  }
}

function withoutExtensions(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(withoutExtensions);
  if (schema === null || typeof schema !== "object") return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => !key.startsWith("x-"))
      .map(([key, child]) => [key, withoutExtensions(child)]),
  );
}
