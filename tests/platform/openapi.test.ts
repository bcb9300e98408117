import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import SwaggerParser from "@apidevtools/swagger-parser";
import { partnerA, partnerB } from "@share-broker/contracts";
import { readJson } from "@share-broker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createWorld,
  type PartnerProcess,
  startSandbox,
  startWorldPartner,
  type World,
} from "../support/world.js";

/**
 * Each partner serves its OpenAPI 3.1 document, generated from its routes, at /openapi.json
 * without a key. The copies under docs/api/ are what integrators read: this test fails when they
 * drift from what the services serve. `UPDATE_OPENAPI=1` rewrites them.
 */

const operationsOf = { "partner-a": partnerA, "partner-b": partnerB } as const;
const platformRoutes = [
  ["get", "/healthz"],
  ["get", "/readyz"],
  ["get", "/openapi.json"],
  ["post", "/v1/webhooks/didit"],
] as const;

const committedPath = (name: string) =>
  fileURLToPath(new URL(`../../docs/api/${name}.openapi.json`, import.meta.url));

type Json = Record<string, unknown>;

/** The schema a `$ref` names, or the schema itself. */
function resolve(document: Json, schema: Json | undefined): Json | undefined {
  const ref = schema?.$ref;
  if (typeof ref !== "string") return schema;
  const name = ref.replace("#/components/schemas/", "");
  return ((document.components as Json).schemas as Record<string, Json>)[name];
}

let world: World;
beforeAll(async () => {
  world = await createWorld();
  await startSandbox(world);
});

describe.each(["partner-a", "partner-b"] as const)("%s's OpenAPI document", (name) => {
  let service: PartnerProcess;
  let document: Json;
  beforeAll(async () => {
    service = await startWorldPartner(world, name);
    const response = await fetch(`${service.url}/openapi.json`);
    expect(response.status).toBe(200);
    document = (await readJson(response)) as Json;
  });
  afterAll(async () => {
    await service?.stop();
  });

  it("is a valid OpenAPI 3.1 document, served without a key", async () => {
    expect(document.openapi).toBe("3.1.0");
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
  });

  it("documents every route of the service", () => {
    const paths = document.paths as Record<string, Record<string, unknown>>;
    const expected = [
      ...Object.values(operationsOf[name]).map((operation) => [
        operation.method.toLowerCase(),
        operation.url.replace(/:([a-z_]+)/g, "{$1}"),
      ]),
      ...platformRoutes,
    ];
    for (const [method, path] of expected) {
      expect(paths[path as string]?.[method as string], `${method} ${path}`).toBeDefined();
    }
  });

  it("gives every contract operation an example answer and one shared error body", () => {
    const paths = document.paths as Record<string, Record<string, Json>>;
    for (const operation of Object.values(operationsOf[name])) {
      const path = operation.url.replace(/:([a-z_]+)/g, "{$1}");
      const documented = paths[path]?.[operation.method.toLowerCase()] as Json;
      const responses = documented.responses as Record<string, Json>;
      const success = Object.keys(responses).find((status) => status.startsWith("2")) as string;
      const content = ((responses[success] as Json).content as Record<string, Json>)["application/json"];
      const schema = resolve(document, content?.schema as Json);
      expect(schema?.examples, `${operation.schema.operationId} example`).toBeInstanceOf(Array);
      for (const [status, answer] of Object.entries(responses)) {
        if (!/^[45]/.test(status)) continue;
        const errorSchema = ((answer.content as Record<string, Json>)["application/json"] as Json)
          .schema as Json;
        expect(errorSchema.$ref, `${operation.schema.operationId} ${status}`).toBe(
          "#/components/schemas/ErrorBody",
        );
      }
    }
  });

  it("serves Swagger UI at /docs without a key", async () => {
    const response = await fetch(`${service.url}/docs/`, { redirect: "follow" });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("swagger");
  });

  it("matches the copy committed under docs/api/", () => {
    const generated = `${JSON.stringify(document, null, 2)}\n`;
    const path = committedPath(name);
    if (process.env.UPDATE_OPENAPI === "1") writeFileSync(path, generated);
    expect(existsSync(path), `${path} is missing: run with UPDATE_OPENAPI=1`).toBe(true);
    // Compared as JSON: the formatter may lay the committed file out differently.
    const committed: unknown = JSON.parse(readFileSync(path, "utf8"));
    expect(committed, "docs/api drifted: run with UPDATE_OPENAPI=1 and commit").toEqual(document);
  });
});
