/**
 * What a service logged and counted, for tests that assert on it: log lines captured from a pino
 * destination, and one series read from a Prometheus text exposition (GET /metrics or a registry's
 * `metrics()`), the way a scraper sees it.
 */

/** A pino destination that keeps every line, and the lines parsed. */
export function capturedLog() {
  const lines: string[] = [];
  return {
    lines,
    destination: { write: (line: string) => void lines.push(line) },
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/**
 * The value of the series `name{labels}` in an exposition; undefined when there is no such series.
 * Labels match whatever their order in the text, and the series must carry exactly these labels.
 */
export function metricValue(
  exposition: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(",");
  for (const line of exposition.split("\n")) {
    const match = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = (match[2] ?? "")
      .split(/,(?=[^,]+=")/)
      .filter(Boolean)
      .sort()
      .join(",");
    if (found === wanted) return Number(match[3]);
  }
  return undefined;
}
