import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";
import type { OpenAPIV3_1 } from "openapi-types";
import { hasZodSchema } from "./zod-routes.js";

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";

type Transform = typeof jsonSchemaTransform;

/** zod schemas become JSON schema; routes declared in JSON schema (health, metrics) pass as they are. */
const transform: Transform = (input) =>
  hasZodSchema(input.schema) ? jsonSchemaTransform(input) : { schema: input.schema, url: input.url };

/** Every `$ref` target named anywhere inside `value`. */
function refsIn(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) refsIn(item, into);
  } else if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") into.add(child.replace("#/components/schemas/", ""));
      else refsIn(child, into);
    }
  }
  return into;
}

/**
 * The contracts register both partners' component schemas in zod's one global registry; each
 * document keeps only the components its own operations reach.
 */
function keepReachableComponents(document: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  const schemas = document.components?.schemas ?? {};
  const reached = refsIn(document.paths, new Set());
  const queue = [...reached];
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    for (const ref of refsIn(schemas[name], new Set())) {
      if (!reached.has(ref)) {
        reached.add(ref);
        queue.push(ref);
      }
    }
  }
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => reached.has(name)));
  return { ...document, components: { ...document.components, schemas: kept } };
}

/**
 * The OpenAPI 3.1 document generated from the routes, served without auth at `/openapi.json`,
 * and Swagger UI at `/docs`. Register before the routes: swagger collects them as they are added.
 */
export async function installOpenApi(app: FastifyInstance, info: OpenApiInfo): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info,
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", description: "One of the service's API_KEYS." },
        },
      },
      security: [{ bearer: [] }],
    },
    transform,
    transformObject: (input) =>
      keepReachableComponents(jsonSchemaTransformObject(input) as OpenAPIV3_1.Document) as never,
  });
  app.get(
    OPENAPI_PATH,
    {
      config: { public: true },
      schema: { summary: "This document (OpenAPI 3.1)", tags: ["meta"], security: [] },
    },
    async () => app.swagger(),
  );
  // Swagger UI's own routes (page, assets, its copy of the document) are public like the document.
  app.addHook("onRoute", (route) => {
    if (route.url.startsWith(DOCS_PATH)) route.config = { ...route.config, public: true };
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PATH });
}
