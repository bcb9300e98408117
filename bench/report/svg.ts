/** Hand-written SVG charts: no dependency, and the report stays one self-contained file. */

const WIDTH = 900;
const HEIGHT = 300;
const MARGIN = { left: 64, right: 150, top: 30, bottom: 40 };
export const COLOURS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#17becf",
  "#7f7f7f",
];

const escapeXml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function niceTop(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10])
    if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function ticks(top: number, count = 5): number[] {
  return Array.from({ length: count + 1 }, (_, index) => (top / count) * index);
}

const label = (value: number) =>
  Math.abs(value) >= 1000 ? `${(value / 1000).toFixed(value % 1000 === 0 ? 0 : 1)}k` : `${+value.toFixed(1)}`;

function frame(title: string, xLabel: string, yLabel: string, xTop: number, yTop: number): string[] {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const parts = [
    `<text x="${MARGIN.left}" y="18" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  ];
  for (const value of ticks(yTop)) {
    const y = MARGIN.top + plotH - (value / yTop) * plotH;
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${label(value)}</text>`,
    );
  }
  for (const value of ticks(xTop, 10)) {
    const x = MARGIN.left + (value / xTop) * plotW;
    parts.push(
      `<text x="${x}" y="${MARGIN.top + plotH + 16}" font-size="11" text-anchor="middle">${label(value)}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 6}" font-size="12" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    `<text x="14" y="${MARGIN.top + plotH / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${MARGIN.top + plotH / 2})">${escapeXml(yLabel)}</text>`,
  );
  return parts;
}

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  colour?: string;
  dashed?: boolean;
}

export interface Band {
  from: number;
  to: number;
  label: string;
}

/** A line chart of several series over a shared x axis, with optional shaded bands (phases). */
export function lineChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  bands?: Band[];
  yTop?: number;
}): string {
  const all = options.series.flatMap((series) => series.points);
  const xTop = niceTop(Math.max(1, ...all.map(([x]) => x)));
  const yTop = options.yTop ?? niceTop(Math.max(0, ...all.map(([, y]) => y)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + (x / xTop) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - (Math.min(y, yTop) / yTop) * plotH;
  const parts = frame(options.title, options.xLabel, options.yLabel, xTop, yTop);
  for (const [index, band] of (options.bands ?? []).entries()) {
    parts.push(
      `<rect x="${sx(band.from)}" y="${MARGIN.top}" width="${Math.max(1, sx(band.to) - sx(band.from))}" height="${plotH}" fill="${index % 2 ? "#f3f3ff" : "#fff6e8"}"/>`,
      `<text x="${sx(band.from) + 2}" y="${MARGIN.top + 12 + (index % 3) * 11}" font-size="10" fill="#555">${escapeXml(band.label)}</text>`,
    );
  }
  for (const [index, series] of options.series.entries()) {
    const colour = series.colour ?? COLOURS[index % COLOURS.length];
    const path = series.points
      .map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join("");
    parts.push(
      `<path d="${path}" fill="none" stroke="${colour}" stroke-width="1.5"${series.dashed ? ' stroke-dasharray="4 3"' : ""}/>`,
      `<line x1="${WIDTH - MARGIN.right + 10}" x2="${WIDTH - MARGIN.right + 30}" y1="${MARGIN.top + 10 + index * 16}" y2="${MARGIN.top + 10 + index * 16}" stroke="${colour}" stroke-width="2"${series.dashed ? ' stroke-dasharray="4 3"' : ""}/>`,
      `<text x="${WIDTH - MARGIN.right + 34}" y="${MARGIN.top + 14 + index * 16}" font-size="11">${escapeXml(series.name)}</text>`,
    );
    // Sparse series get markers: a single point draws no line.
    if (series.points.length < 40) {
      for (const [x, y] of series.points) {
        parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${colour}"/>`);
      }
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif">${parts.join("")}</svg>`;
}

/** A histogram: equal-width bins from 0, plus the count beyond the last bin. */
export function histogramChart(options: {
  title: string;
  xLabel: string;
  width: number;
  counts: readonly number[];
  overflow: number;
  colour?: string;
  marks?: { label: string; value: number }[];
}): string {
  const bins = options.counts.length;
  const xTop = options.width * bins;
  const yTop = niceTop(Math.max(1, ...options.counts));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const parts = frame(options.title, options.xLabel, "shares", xTop, yTop);
  const barW = plotW / bins;
  for (const [index, count] of options.counts.entries()) {
    const h = (count / yTop) * plotH;
    parts.push(
      `<rect x="${(MARGIN.left + index * barW + 1).toFixed(1)}" y="${(MARGIN.top + plotH - h).toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${options.colour ?? COLOURS[0]}"><title>${label(index * options.width)}–${label((index + 1) * options.width)} ms: ${count}</title></rect>`,
    );
  }
  for (const [index, mark] of (options.marks ?? []).entries()) {
    const x = MARGIN.left + (Math.min(mark.value, xTop) / xTop) * plotW;
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#d62728" stroke-dasharray="3 3"/>`,
      `<text x="${x + 3}" y="${MARGIN.top + 12 + index * 12}" font-size="11" fill="#d62728">${escapeXml(mark.label)}</text>`,
    );
  }
  parts.push(
    `<text x="${WIDTH - MARGIN.right + 10}" y="${MARGIN.top + 14}" font-size="11">beyond: ${options.overflow}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif">${parts.join("")}</svg>`;
}

export { escapeXml };
