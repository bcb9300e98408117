/**
 * The stack's output: every line carries the name of what wrote it (a service, the stack, the
 * demo); services' pino JSON lines are shortened to `time level message key=value…`.
 */

export const COLOURS: Record<string, number> = {
  "didit-sandbox": 35,
  "partner-a": 36,
  "partner-b": 33,
  console: 32,
  stack: 37,
  demo: 34,
};

const LABEL_WIDTH = 14;

export interface OutputOptions {
  /** ANSI colours and bold (a terminal); plain text otherwise. */
  colour: boolean;
  /** Keep services' JSON lines as they are. */
  rawLogs: boolean;
  /** Also show successful GET requests (the console and the demo poll). */
  verbose: boolean;
}

export function label(name: string, options: Pick<OutputOptions, "colour">): string {
  const padded = name.padEnd(LABEL_WIDTH);
  return options.colour ? `\x1b[${COLOURS[name] ?? 37}m${padded}\x1b[0m|` : `${padded}|`;
}

/** Fields every line has, or that are shown in another way. */
const HIDDEN = new Set(["level", "time", "pid", "hostname", "service", "msg", "request_id", "reqId"]);
const LEVEL_COLOURS: Record<string, number> = { warn: 33, error: 31, fatal: 31 };

function formatValue(value: unknown): string {
  const text =
    typeof value === "string"
      ? /^[^\s"=]+$/.test(value)
        ? value
        : JSON.stringify(value)
      : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

function errorText(err: unknown): string {
  if (!err || typeof err !== "object") return formatValue(err);
  const { type, message, code } = err as { type?: string; message?: string; code?: string };
  return formatValue(`${type ?? "Error"}${code ? ` ${code}` : ""}: ${message ?? ""}`);
}

interface Request {
  method: string;
  url: string;
}

/**
 * Renders the lines of one service. Fastify logs a request twice ("incoming request", then
 * "request completed"); they become one line, and successful GETs are left out unless verbose.
 */
export class ServiceLogRenderer {
  readonly #requests = new Map<string, Request>();

  constructor(private readonly options: OutputOptions) {}

  /** The line to print, or `undefined` to print nothing. */
  render(line: string): string | undefined {
    if (this.options.rawLogs || !line.startsWith("{")) return line;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return line;
    }
    const requestId = String(entry.request_id ?? entry.reqId ?? "");
    const req = entry.req as { method?: string; url?: string } | undefined;
    if (entry.msg === "incoming request" && req) {
      if (this.#requests.size > 1000) this.#requests.clear();
      this.#requests.set(requestId, { method: req.method ?? "?", url: req.url ?? "?" });
      return undefined;
    }
    let message = String(entry.msg ?? "");
    const fields: Record<string, unknown> = { ...entry };
    if (entry.msg === "request completed") {
      const request = this.#requests.get(requestId);
      this.#requests.delete(requestId);
      const status = (entry.res as { statusCode?: number } | undefined)?.statusCode ?? 0;
      if (!this.options.verbose && request?.method === "GET" && status < 400) return undefined;
      const took = typeof entry.responseTime === "number" ? ` ${entry.responseTime.toFixed(1)} ms` : "";
      message = `${request ? `${request.method} ${request.url}` : "request"} → ${status}${took}`;
      delete fields.res;
      delete fields.responseTime;
    }
    return this.#line(entry, message, fields);
  }

  #line(entry: Record<string, unknown>, message: string, fields: Record<string, unknown>): string {
    const time = typeof entry.time === "string" ? entry.time.slice(11, 23) : "";
    const level = String(entry.level ?? "info");
    const levelColour = LEVEL_COLOURS[level];
    const shownLevel =
      this.options.colour && levelColour ? `\x1b[${levelColour}m${level.padEnd(5)}\x1b[0m` : level.padEnd(5);
    const pairs = Object.entries(fields)
      .filter(([key]) => !HIDDEN.has(key))
      .map(
        ([key, value]) =>
          `${key}=${key === "err" || key === "error" ? errorText(value) : formatValue(value)}`,
      );
    return [time, shownLevel, message, ...pairs].filter(Boolean).join(" ");
  }
}

/** Where the stack writes: one labelled line at a time, on stdout. */
export class StackOutput {
  constructor(
    readonly options: OutputOptions,
    private readonly write: (text: string) => void = (text) => void process.stdout.write(text),
  ) {}

  /** A line from `name`; `emphasis` makes the stack's and the demo's own lines stand out. */
  print(name: string, text: string, emphasis = false): void {
    const shown = emphasis && this.options.colour ? `\x1b[1m${text}\x1b[0m` : text;
    this.write(`${label(name, this.options)} ${shown}\n`);
  }

  say(text: string): void {
    this.print("stack", text, true);
  }
}
