/**
 * Progress of a long run: a bar redrawn in place on a terminal, plain lines at most every few
 * seconds otherwise (CI logs), so neither floods its output.
 */
export class ProgressBar {
  readonly #stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly #interactive: boolean;
  #lastDraw = 0;
  #lastLine = "";
  #drawn = false;

  constructor(
    private readonly label: string,
    stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number } = process.stderr,
    private readonly plainEveryMs = 2_000,
  ) {
    this.#stream = stream;
    this.#interactive = Boolean(stream.isTTY) && process.env.TERM !== "dumb";
  }

  update(done: number, total: number, extra = ""): void {
    const now = Date.now();
    const final = done >= total;
    const every = this.#interactive ? 80 : this.plainEveryMs;
    if (!final && now - this.#lastDraw < every) return;
    this.#lastDraw = now;
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (this.#interactive) {
      const width = Math.max(10, Math.min(40, (this.#stream.columns ?? 80) - 50));
      const filled = Math.round((width * percent) / 100);
      const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
      this.#stream.write(
        `\r\x1b[2K${this.label} ${bar} ${done}/${total} ${percent}%${extra ? `  ${extra}` : ""}`,
      );
      this.#drawn = true;
      return;
    }
    const line = `${this.label}: ${done}/${total} (${percent}%)${extra ? ` ${extra}` : ""}`;
    if (line !== this.#lastLine) this.#stream.write(`${line}\n`);
    this.#lastLine = line;
  }

  /** Ends the bar's line so what follows starts clean. */
  done(): void {
    if (this.#interactive && this.#drawn) this.#stream.write("\n");
    this.#drawn = false;
  }
}
