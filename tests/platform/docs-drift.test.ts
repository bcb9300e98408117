import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/services.js";

// The documentation states facts the code owns: variables, error codes, test projects. These tests
// read both, so a change on one side that forgets the other fails here instead of drifting.

interface ConfigSchema {
  shape: Record<string, { safeParse(value: unknown): { success: boolean; data?: unknown } }>;
}

const CONFIG_SCHEMAS = [
  { service: "partner-a", file: "services/partner-a/src/config.ts", name: "partnerAConfigSchema" },
  { service: "partner-b", file: "services/partner-b/src/config.ts", name: "partnerBConfigSchema" },
  { service: "didit-sandbox", file: "services/didit-sandbox/src/config.ts", name: "sandboxConfigSchema" },
  { service: "console", file: "packages/console/src/config.ts", name: "consoleConfigSchema" },
];
/** Read by service-kit before any schema (the development-defaults switch), not by a schema. */
const PROCESS_VARIABLES = ["NODE_ENV", "SHARE_BROKER_NO_DEV_ENV"];

const read = (file: string) => readFileSync(join(REPO_ROOT, file), "utf8");

/** The text between a heading and the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.indexOf(heading);
  if (start === -1) throw new Error(`no heading "${heading}"`);
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  const end = lines.findIndex(
    (line, index) => index > start && (/^#+ /.exec(line)?.[0].trim().length ?? 99) <= level,
  );
  return lines.slice(start + 1, end === -1 ? undefined : end).join("\n");
}

async function loadSchema(file: string, name: string): Promise<ConfigSchema> {
  const module = (await import(pathToFileURL(join(REPO_ROOT, file)).href)) as Record<string, unknown>;
  const schema = module[name] as ConfigSchema | undefined;
  if (!schema?.shape) throw new Error(`${file} exports no ${name}`);
  return schema;
}

describe("docs/OPERATIONS.md, Configuration", () => {
  const configuration = section(read("docs/OPERATIONS.md"), "## Configuration");
  const serviceTables = configuration.split("### Development tools")[0] as string;
  const rows = serviceTables.split("\n").filter((line) => line.startsWith("| `"));
  const rowsOf = (variable: string) => rows.filter((row) => row.split("|")[1]?.includes(`\`${variable}\``));

  it.each(CONFIG_SCHEMAS)("documents every variable $service reads, with its default", async (entry) => {
    const schema = await loadSchema(entry.file, entry.name);
    const missing: string[] = [];
    const wrongDefault: string[] = [];
    for (const [variable, type] of Object.entries(schema.shape)) {
      const documented = rowsOf(variable);
      if (documented.length === 0) {
        missing.push(variable);
        continue;
      }
      const fallback = type.safeParse(undefined);
      const value = fallback.success ? fallback.data : undefined;
      if ((typeof value === "number" || (typeof value === "string" && value !== "")) && value !== undefined) {
        if (!documented.some((row) => row.includes(String(value)))) wrongDefault.push(`${variable}=${value}`);
      }
    }
    expect({ missing, wrongDefault }).toEqual({ missing: [], wrongDefault: [] });
  });

  it("documents no service variable that no schema reads", async () => {
    const known = new Set(PROCESS_VARIABLES);
    for (const entry of CONFIG_SCHEMAS) {
      for (const variable of Object.keys((await loadSchema(entry.file, entry.name)).shape))
        known.add(variable);
    }
    const documented = rows.flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([A-Z][A-Z0-9_]+)`/g)]);
    const unknown = documented.map((match) => match[1] as string).filter((variable) => !known.has(variable));
    expect(unknown).toEqual([]);
  });
});

/** Every literal error code a service can answer with, found in the sources. */
function codesInSources(): Set<string> {
  const codes = new Set<string>();
  const patterns = [
    /new (?:AppError|ShareRefusal)\(\s*\d{3},\s*"([a-z_]+)"/g,
    /status: \d{3},\s*code: "([a-z_]+)"/g,
  ];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = readFileSync(path, "utf8");
        for (const pattern of patterns)
          for (const match of text.matchAll(pattern)) codes.add(match[1] as string);
      }
    }
  };
  for (const group of ["packages", "services"]) {
    for (const folder of readdirSync(join(REPO_ROOT, group))) {
      const src = join(REPO_ROOT, group, folder, "src");
      if (existsSync(src)) walk(src);
    }
  }
  return codes;
}

describe("README.md", () => {
  const readme = read("README.md");

  it("lists every error code the services answer with", async () => {
    const errors = (await import(
      pathToFileURL(join(REPO_ROOT, "packages/contracts/src/errors.ts")).href
    )) as { ErrorCode: Record<string, string> };
    const declared = new Set(Object.values(errors.ErrorCode));
    // Every code the sources spell is declared in the contracts (AppError's type demands it too).
    expect([...codesInSources()].filter((code) => !declared.has(code))).toEqual([]);
    const codes = declared;
    expect([...codes].filter((code) => !readme.includes(`\`${code}\``))).toEqual([]);
  });

  it("names every test project scripts/test.sh --project accepts", () => {
    const projects = ["packages", "services"].flatMap((group) =>
      readdirSync(join(REPO_ROOT, group)).filter((folder) =>
        existsSync(join(REPO_ROOT, group, folder, "test")),
      ),
    );
    projects.push("stack");
    const sentence = /runs one project \(([^)]*)\)/.exec(readme)?.[1] ?? "";
    expect(projects.filter((project) => !sentence.includes(`\`${project}\``))).toEqual([]);
  });
});
