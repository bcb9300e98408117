import { defineConfig } from "drizzle-kit";

// Generates SQL migrations into drizzle/ (committed); `pnpm db:migrate` applies them.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema/index.ts",
  out: "./drizzle",
});
