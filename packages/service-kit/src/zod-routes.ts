import type {
  FastifyInstance,
  FastifySchema,
  FastifySchemaCompiler,
  FastifySerializerCompiler,
  RouteOptions,
} from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { $ZodType } from "zod/v4/core";

export function isZodSchema(value: unknown): value is $ZodType {
  return value instanceof $ZodType;
}

const REQUEST_PARTS = ["body", "querystring", "params", "headers"] as const;

/** Whether a route declares its schema with zod (the contracts package) rather than JSON schema. */
export function hasZodSchema(schema: RouteOptions["schema"]): boolean {
  if (!schema) return false;
  const parts: unknown[] = REQUEST_PARTS.map((part) => schema[part]);
  if (schema.response && typeof schema.response === "object") parts.push(...Object.values(schema.response));
  return parts.some(isZodSchema);
}

/**
 * Routes whose schema is zod validate and serialize with zod; the others (health, metrics, the
 * sandbox's Didit emulation) keep fastify's JSON-schema compilers. Per route, so both coexist.
 */
export function installZodRoutes(app: FastifyInstance): void {
  app.addHook("onRoute", (route) => {
    if (!hasZodSchema(route.schema)) return;
    // The compilers are typed for zod schemas, fastify's slot for any schema: this hook only
    // installs them on routes whose schemas hasZodSchema found to be zod.
    route.validatorCompiler ??= validatorCompiler as FastifySchemaCompiler<FastifySchema>;
    route.serializerCompiler ??= serializerCompiler as FastifySerializerCompiler<FastifySchema>;
  });
}

/** The app typed for contract routes: request parts and replies are inferred from the zod schemas. */
export function typedRoutes(app: FastifyInstance) {
  return app.withTypeProvider<ZodTypeProvider>();
}
