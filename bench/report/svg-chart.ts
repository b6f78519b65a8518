import type { BenchResults } from "./markdown.js";

/**
 * ChartPanel is one bar group of the chart: bars of one unit, one title.
 */
export interface ChartPanel {
  title: string;
  unit: string;
  bars: Array<{ label: string; value: number }>;
}

const WIDTH = 760;
const LABEL_WIDTH = 250;
const BAR_HEIGHT = 18;
const GAP = 6;
const COLORS = ["#2f6fdd", "#e8803a", "#6a9f3d", "#9c5fc2", "#c94d5b", "#3aa7a0"];

/**
 * chartPanels picks the figures worth a picture from a run's results.
 */
export function chartPanels(results: BenchResults): ChartPanel[] {
  const panels: ChartPanel[] = [];
  if (results.unary !== undefined && results.unary.peers.length > 0) {
    panels.push({
      title: "gRPC unary GetSnapshot, h2load -c 16 -m 8",
      unit: "req/s",
      bars: results.unary.peers.map((p) => ({ label: p.label, value: p.loaded.requestsPerSecond })),
    });
  }
  return panels;
}

/**
 * renderChart draws horizontal bar charts, one panel per measured figure,
 * as a self-contained SVG.
 */
export function renderChart(results: BenchResults): string {
  const panels = chartPanels(results);
  const parts: string[] = [];
  let y = 30;
  parts.push(`<text x="10" y="20" font-size="15" font-weight="bold">Stockify Gateway bench, ${escape(results.machine.date.slice(0, 10))}, Node ${escape(results.machine.node)}, ${results.machine.cores} cores (shared)</text>`);
  if (panels.length === 0) parts.push(`<text x="10" y="${(y += 20)}" font-size="12">nothing measured</text>`);
  for (const panel of panels) {
    y += 22;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${escape(panel.title)} (${escape(panel.unit)})</text>`);
    y += 8;
    const max = Math.max(1, ...panel.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
    panel.bars.forEach((bar, i) => {
      const value = Number.isFinite(bar.value) ? bar.value : 0;
      const length = Math.max(1, Math.round(((WIDTH - LABEL_WIDTH - 110) * value) / max));
      parts.push(
        `<text x="${LABEL_WIDTH - 6}" y="${y + BAR_HEIGHT - 5}" font-size="12" text-anchor="end">${escape(bar.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${length}" height="${BAR_HEIGHT}" fill="${COLORS[i % COLORS.length]}"/>`,
        `<text x="${LABEL_WIDTH + length + 6}" y="${y + BAR_HEIGHT - 5}" font-size="12">${escape(Number.isFinite(bar.value) ? bar.value.toLocaleString("en-US", { maximumFractionDigits: 2 }) : "n/a")}</text>`,
      );
      y += BAR_HEIGHT + GAP;
    });
  }
  const height = y + 14;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
