import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, relative, resolve, sep } from "node:path";

/**
 * Checks the repository's references to its own files: markdown links and `*.md` path mentions must
 * resolve to a file inside the repository (and an `#anchor` to a heading of that file, slugged as
 * GitHub does), nothing may cite the design notes the project was first written from, and nothing
 * may point outside the repository. The repository has to stand on its own: docs/ holds what the
 * code cites.
 */

export interface ReferenceProblem {
  file: string;
  line: number;
  reference: string;
  problem: string;
}

/** The design notes the code once cited, by name (spelled out here only in pieces). */
const RETIRED_NOTES = ["DESIGN", "STYLE", "API"].map((name) => `${name}.md`);
const RETIRED_NOTE = new RegExp(`(?<![\\w.-])(?:${RETIRED_NOTES.map(escapeRegExp).join("|")})`, "g");

/** Absolute paths of machines, and the folder beside the repository the notes lived in. */
const OUTSIDE_PREFIXES = [`/${"work"}/`, `/${"home"}/`, `/${"Users"}/`, `/${"root"}/`];
const PATH_TAIL = "[^\\s\"'`)]*";
const OUTSIDE_PATH = new RegExp(
  `(?<![\\w.:/-])(?:${OUTSIDE_PREFIXES.map(escapeRegExp).join("|")})${PATH_TAIL}|(?<![\\w.-])\\.\\.\\/${"shared"}\\b${PATH_TAIL}`,
  "g",
);
/** A relative path climbing with `../`, resolved against the file that holds it. */
const CLIMBING_PATH = /(?<![\w./-])((?:\.\.\/)+)[\w.@{}-]*/g;
/** A markdown file mentioned by path: `docs/OPERATIONS.md#configuration`, `bench/README.md`. */
const MARKDOWN_PATH =
  /(?<![\w./:@-])((?:\.{1,2}\/)*[\w.-]*[\w-](?:\/[\w.-]+)*\.md)(#[\p{L}\p{N}_-]+)?(?![\w/])/gu;
/** An inline markdown link or image: [text](target "title"). */
const MARKDOWN_LINK = /!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+"[^"]*")?\s*\)/g;
/** A link reference definition: [label]: target */
const LINK_DEFINITION = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/;
const EXTERNAL = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;

const BINARY_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".gif", ".ico", ".pdf", ".woff", ".woff2"]);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** GitHub's anchor for a heading: rendered text, lowercased, punctuation dropped, spaces to "-". */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/`/g, "")
    .replace(/\*+|(?<![\p{L}\p{N}])_+|_+(?![\p{L}\p{N}])/gu, "");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a markdown file offers: its headings' slugs (repeats get -1, -2 …) and explicit ids. */
export function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const add = (slug: string) => {
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  };
  const lines = markdown.split("\n");
  lines.forEach((line, index) => {
    if (inFence(lines, index)) return;
    const atx = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (atx) add(githubSlug(atx[1] ?? ""));
    const previous = lines[index - 1];
    if (/^ {0,3}(?:=+|-+)\s*$/.test(line) && previous && /\S/.test(previous) && !inFence(lines, index - 1)) {
      if (!/^\s*(?:[-*+>|#]|\d+\.)/.test(previous)) add(githubSlug(previous));
    }
    for (const match of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(match[1] as string);
  });
  return anchors;
}

const fenceCache = new WeakMap<readonly string[], boolean[]>();
/** Whether a line lies inside (or opens or closes) a fenced code block. */
function inFence(lines: readonly string[], index: number): boolean {
  let fenced = fenceCache.get(lines);
  if (!fenced) {
    fenced = [];
    let open: string | undefined;
    for (const line of lines) {
      const fence = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      if (open === undefined && fence) {
        open = fence[0];
        fenced.push(true);
      } else if (open !== undefined) {
        fenced.push(true);
        if (fence?.[0] === open) open = undefined;
      } else fenced.push(false);
    }
    fenceCache.set(lines, fenced);
  }
  return fenced[index] ?? false;
}

/** Inline code spans blanked out, so example text in backticks is not read as a link. */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)(?:(?!\1).)+?\1/g, (span) => " ".repeat(span.length));
}

function isTextFile(file: string, bytes: Buffer): boolean {
  if (BINARY_EXTENSIONS.has(extname(file).toLowerCase())) return false;
  return !bytes.subarray(0, 8000).includes(0);
}

export class ReferenceChecker {
  readonly #anchors = new Map<string, Set<string>>();

  constructor(private readonly root: string) {}

  /** Every problem in the given files (paths relative to the root); unreadable or binary files are skipped. */
  check(files: readonly string[]): ReferenceProblem[] {
    const problems: ReferenceProblem[] = [];
    for (const file of files) {
      const absolute = join(this.root, file);
      if (!existsSync(absolute) || !statSync(absolute).isFile()) continue;
      const bytes = readFileSync(absolute);
      if (!isTextFile(file, bytes)) continue;
      problems.push(...this.#checkFile(file, bytes.toString("utf8")));
    }
    // One report per reference, though a path may break more than one rule (a link climbing out).
    const seen = new Set<string>();
    return problems.filter(({ file, line, reference }) => {
      const key = JSON.stringify([file, line, reference]);
      return seen.has(key) ? false : Boolean(seen.add(key));
    });
  }

  #checkFile(file: string, text: string): ReferenceProblem[] {
    const problems: ReferenceProblem[] = [];
    const lines = text.split("\n");
    const markdown = extname(file).toLowerCase() === ".md";
    lines.forEach((line, index) => {
      const at = (reference: string, problem: string) =>
        problems.push({ file, line: index + 1, reference, problem });

      for (const match of line.matchAll(RETIRED_NOTE)) {
        at(match[0], "cites a design note from outside the repository; cite the file under docs/ instead");
      }
      for (const match of line.matchAll(OUTSIDE_PATH)) at(match[0], "points outside the repository");
      for (const match of line.matchAll(CLIMBING_PATH)) {
        const target = resolve(this.root, dirname(file), match[0]);
        if (!this.#inside(target)) at(match[0], "climbs out of the repository");
      }

      if (markdown && inFence(lines, index)) return;
      // In markdown, link targets are checked as links (from their file's folder), and the rest of the
      // line, code spans included, for path mentions.
      let mentions = line;
      if (markdown) {
        const prose = withoutCodeSpans(line);
        const links = [...prose.matchAll(MARKDOWN_LINK)].map((match) => ({
          raw: match[1] as string,
          at: (match.index ?? 0) + match[0].indexOf(match[1] as string, match[0].indexOf("](")),
        }));
        const definition = LINK_DEFINITION.exec(prose)?.[1];
        if (definition) links.push({ raw: definition, at: prose.indexOf(definition, prose.indexOf("]:")) });
        for (const { raw, at: start } of links) {
          mentions = mentions.slice(0, start) + " ".repeat(raw.length) + mentions.slice(start + raw.length);
          const target = raw.replace(/^<|>$/g, "");
          if (EXTERNAL.test(target)) continue;
          const problem = this.#resolveLink(file, target);
          if (problem) at(target, problem);
        }
      }
      for (const match of mentions.matchAll(MARKDOWN_PATH)) {
        const path = match[1] as string;
        // A retired note is reported once, as such.
        if (RETIRED_NOTES.includes(path.split("/").at(-1) ?? "")) continue;
        const problem = this.#resolveMention(file, path, match[2]);
        if (problem) at(match[0], problem);
      }
    });
    return problems;
  }

  /** A link resolves from its own file's folder, as GitHub renders it. */
  #resolveLink(file: string, target: string): string | undefined {
    const [path = "", anchor] = splitAnchor(target);
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return "is not a valid link";
    }
    const absolute = decoded === "" ? join(this.root, file) : resolve(this.root, dirname(file), decoded);
    if (!this.#inside(absolute)) return "points outside the repository";
    if (!existsSync(absolute)) return "links to a file that does not exist";
    return anchor === undefined ? undefined : this.#checkAnchor(absolute, anchor);
  }

  /** A path mentioned in text resolves from its file's folder or from the repository root. */
  #resolveMention(file: string, path: string, anchorWithHash: string | undefined): string | undefined {
    const candidates = [resolve(this.root, dirname(file), path), resolve(this.root, path)];
    const absolute = candidates.find((candidate) => this.#inside(candidate) && existsSync(candidate));
    if (!absolute) return "names a markdown file that does not exist in the repository";
    return anchorWithHash === undefined ? undefined : this.#checkAnchor(absolute, anchorWithHash.slice(1));
  }

  #checkAnchor(absolute: string, anchor: string): string | undefined {
    if (extname(absolute).toLowerCase() !== ".md") return undefined;
    let anchors = this.#anchors.get(absolute);
    if (!anchors) {
      anchors = markdownAnchors(readFileSync(absolute, "utf8"));
      this.#anchors.set(absolute, anchors);
    }
    if (anchors.has(anchor.toLowerCase())) return undefined;
    return `has no heading "#${anchor}" in ${relative(this.root, absolute)}`;
  }

  #inside(absolute: string): boolean {
    const path = relative(this.root, absolute);
    return path === "" || (!path.startsWith(`..${sep}`) && path !== ".." && !path.startsWith(sep));
  }
}

function splitAnchor(target: string): [string, string | undefined] {
  const hash = target.indexOf("#");
  return hash === -1 ? [target, undefined] : [target.slice(0, hash), target.slice(hash + 1)];
}

export function formatProblems(problems: readonly ReferenceProblem[]): string[] {
  return problems.map(({ file, line, reference, problem }) => `${file}:${line}: ${reference} ${problem}`);
}
