import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface CpuProfileNode {
  id: number;
  parent?: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  pct: number;
}

export interface ProfileSummary {
  service: string;
  file: string;
  /** Sampled time inside the windows, idle excluded. */
  busyMs: number;
  idleMs: number;
  functions: ProfileEntry[];
  packages: ProfileEntry[];
  categories: ProfileEntry[];
  /** share-broker's own functions by inclusive (self + callees, synchronous) time. */
  ownInclusive: ProfileEntry[];
}

/** The package (or part of Node) a script URL belongs to, for a coarse "where does the time go". */
export function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node internals";
  const pnpm = /node_modules\/\.pnpm\/((?:@[^+/]+\+)?[^@/]+)@/.exec(url);
  if (pnpm) return (pnpm[1] as string).replace("+", "/");
  const plain = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (plain) return plain[1] as string;
  const workspace = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (workspace) return `${workspace[1] === "packages" ? "@share-broker/" : ""}${workspace[2]}`;
  return "other";
}

const CATEGORIES: [string, (pkg: string, url: string, fn: string) => boolean][] = [
  [
    "crypto (jose, WebCrypto, node:crypto)",
    (pkg, url) => pkg === "jose" || url.startsWith("node:internal/crypto"),
  ],
  ["SQL building and row mapping (drizzle-orm)", (pkg) => pkg === "drizzle-orm"],
  ["Postgres client (pg, pg-protocol, pg-pool)", (pkg) => /^pg(-|$)/.test(pkg)],
  [
    "socket writes (native)",
    (_pkg, url, fn) => !url && /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(fn),
  ],
  [
    "BullMQ and ioredis",
    (pkg) =>
      /^(bullmq|ioredis|@ioredis\/.*|msgpackr|cluster-key-slot|redis-.*|denque|standard-as-callback)$/.test(
        pkg,
      ),
  ],
  [
    "HTTP server (fastify, ajv, node:http)",
    (pkg, url) =>
      /^(fastify|@fastify\/.*|avvio|find-my-way|ajv|fast-json-stringify|fast-uri|light-my-request|toad-cache|secure-json-parse|fast-querystring|rfdc|process-warning)$/.test(
        pkg,
      ) || /^node:_http_(server|incoming|outgoing|common)$/.test(url),
  ],
  ["HTTP client (undici)", (pkg) => pkg === "undici"],
  [
    "logging (pino)",
    (pkg) =>
      /^(pino|pino-std-serializers|sonic-boom|@pinojs\/.*|thread-stream|fast-redact|quick-format-unescaped|atomic-sleep|on-exit-leak-free|safe-stable-stringify)$/.test(
        pkg,
      ),
  ],
  ["metrics (prom-client)", (pkg) => /^(prom-client|tdigest|bintrees)$/.test(pkg)],
  ["validation (zod)", (pkg) => pkg === "zod"],
  [
    "share-broker code",
    (pkg) => pkg.startsWith("@share-broker/") || /^(partner-a|partner-b|didit-sandbox)$/.test(pkg),
  ],
  ["garbage collector", (pkg) => pkg === "(garbage collector)"],
  ["other Node internals (streams, net, events, timers)", (pkg) => pkg === "node internals"],
];

/** A coarse bucket for "where does the time go": crypto, SQL, sockets, queues, HTTP, logging… */
export function categoryOf(url: string, functionName: string): string {
  const pkg = packageOf(url, functionName);
  for (const [name, matches] of CATEGORIES) if (matches(pkg, url, functionName)) return name;
  return "other (program, native, microtasks)";
}

function shortWhere(url: string, line: number): string {
  if (!url) return "";
  const tail = url.replace(/^file:\/\//, "").replace(/^.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, "");
  const repo = tail.replace(/^.*\/(packages|services)\//, "$1/");
  return `${repo}:${line + 1}`;
}

/**
 * Self time per function and per package of a .cpuprofile, counting only samples taken inside the
 * given windows (microseconds of the monotonic clock, which V8's profile timestamps use on Linux).
 * Without windows, or when none of them overlaps the profile, every sample counts.
 */
export function summarizeProfile(
  service: string,
  file: string,
  windowsUs: readonly [number, number][] = [],
  top = 20,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const overlaps = windowsUs.some(([from, to]) => from < profile.endTime && to > profile.startTime);
  const inside = (t: number) => !overlaps || windowsUs.some(([from, to]) => t >= from && t <= to);
  const selfByNode = new Map<number, number>();
  let t = profile.startTime;
  for (let index = 0; index < profile.samples.length; index += 1) {
    const delta = profile.timeDeltas[index] ?? 0;
    t += delta;
    if (!inside(t)) continue;
    const id = profile.samples[index] as number;
    // A sample's time is the interval until the next sample; the next delta approximates it.
    const weight = profile.timeDeltas[index + 1] ?? delta;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + weight);
  }
  const byFunction = new Map<string, ProfileEntry>();
  const byPackage = new Map<string, ProfileEntry>();
  const byCategory = new Map<string, ProfileEntry>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfByNode) {
    const frame = (nodes.get(id) as CpuProfileNode).callFrame;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const name = frame.functionName || "(anonymous)";
    const where = shortWhere(frame.url, frame.lineNumber);
    const key = `${name}@${where}`;
    const entry = byFunction.get(key) ?? { name, where, selfMs: 0, pct: 0 };
    entry.selfMs += us / 1000;
    byFunction.set(key, entry);
    const pkg = packageOf(frame.url, frame.functionName);
    const packageEntry = byPackage.get(pkg) ?? { name: pkg, where: "", selfMs: 0, pct: 0 };
    packageEntry.selfMs += us / 1000;
    byPackage.set(pkg, packageEntry);
    const category = categoryOf(frame.url, frame.functionName);
    const categoryEntry = byCategory.get(category) ?? { name: category, where: "", selfMs: 0, pct: 0 };
    categoryEntry.selfMs += us / 1000;
    byCategory.set(category, categoryEntry);
  }
  // Inclusive time of our own code: each sample counts once for every distinct own frame on its stack.
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const inclusive = new Map<string, ProfileEntry>();
  for (const [id, us] of selfByNode) {
    if ((nodes.get(id) as CpuProfileNode).callFrame.functionName === "(idle)") continue;
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
      const frame = (nodes.get(current) as CpuProfileNode).callFrame;
      if (!/\/(packages|services)\/[^/]+\/(dist|src)\//.test(frame.url)) continue;
      const name = frame.functionName || "(anonymous)";
      const where = shortWhere(frame.url, frame.lineNumber);
      const key = `${name}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = inclusive.get(key) ?? { name, where, selfMs: 0, pct: 0 };
      entry.selfMs += us / 1000;
      inclusive.set(key, entry);
    }
  }
  const ranked = (entries: Iterable<ProfileEntry>) =>
    [...entries]
      .map((entry) => ({ ...entry, pct: busyUs ? (entry.selfMs * 100_000) / busyUs : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top);
  return {
    service,
    file,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    functions: ranked(byFunction.values()),
    packages: ranked(byPackage.values()),
    categories: ranked(byCategory.values()),
    ownInclusive: ranked(inclusive.values()),
  };
}

/** The newest .cpuprofile per service in a folder where each service wrote into its own subfolder. */
export function profilesIn(dir: string): { service: string; file: string }[] {
  const found: { service: string; file: string }[] = [];
  for (const service of readdirSync(dir)) {
    const files = readdirSync(join(dir, service))
      .filter((name) => name.endsWith(".cpuprofile"))
      .sort();
    for (const file of files) found.push({ service, file: join(dir, service, file) });
  }
  return found;
}
