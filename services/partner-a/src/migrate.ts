import { fileURLToPath } from "node:url";
import { applyDevelopmentEnv, loadConfigOrExit, migrateDatabase } from "@share-broker/service-kit";
import { z } from "zod";
import { partnerAConfigSchema, SERVICE_NAME } from "./config.js";

/** `pnpm db:migrate`: creates partner-a's database if needed and applies the committed migrations. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../drizzle", import.meta.url));

applyDevelopmentEnv(SERVICE_NAME);
const { DATABASE_URL } = loadConfigOrExit(
  SERVICE_NAME,
  z.object({ DATABASE_URL: partnerAConfigSchema.shape.DATABASE_URL }),
);
await migrateDatabase(DATABASE_URL, MIGRATIONS_FOLDER);
process.stdout.write(`${SERVICE_NAME}: database migrated (${new URL(DATABASE_URL).pathname.slice(1)})\n`);
