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
// One colour per peer or protocol across panels, first match wins.
const COLORS: Array<[string, string]> = [
  ["grpc-js", "#e8803a"],
  ["node:http2", "#6a9f3d"],
  ["Fastify", "#9c5fc2"],
  ["gRPC", "#3aa7a0"],
  ["gateway", "#2f6fdd"],
];

function colorOf(label: string): string {
  return COLORS.find(([key]) => label.includes(key))?.[1] ?? "#8a8f98";
}

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
  if (results.rest !== undefined && results.rest.targets.length > 0) {
    panels.push({
      title: "JSON over HTTP/1.1 GetSnapshot, wrk -c 16",
      unit: "req/s",
      bars: results.rest.targets.map((t) => ({ label: t.label, value: t.loaded.requestsPerSecond })),
    });
  }
  if (results.seed !== undefined) {
    const seed = results.seed;
    const rest = seed.restRoutes ? "REST" : "Connect JSON";
    panels.push({
      title: "The guide's table: time to answer or see an update, p50",
      unit: "ms, lower is better",
      bars: [
        { label: `GetSnapshot, ${rest}`, value: (seed.getSnapshot.rest ?? seed.getSnapshot.connectJson).p50Ms },
        { label: "GetSnapshot, gRPC", value: seed.getSnapshot.grpc.p50Ms },
        { label: `100 symbols, 100 ${rest} calls`, value: seed.batch.restSequential.p50Ms },
        { label: "100 symbols, one gRPC batch", value: seed.batch.grpcOneCall.p50Ms },
        { label: `polling every ${seed.streaming.pollIntervalMs} ms`, value: seed.streaming.poll.p50Ms },
        { label: "gRPC push", value: seed.streaming.push.p50Ms },
      ],
    });
  }
  const feedRowA = results.streaming?.externalFeed.runs.filter((r) => r.row === "a") ?? [];
  if (feedRowA.length > 0) {
    panels.push({
      title: `External feed, ${results.streaming!.externalFeed.rows.find((r) => r.id === "a")!.title}`,
      unit: "messages delivered/s",
      bars: feedRowA.map((r) => ({ label: r.peer, value: r.deliveredPerSecond })),
    });
  }
  if (results.streaming !== undefined && results.streaming.throughput.length > 0) {
    panels.push({
      title: "SubscribeSnapshots, feed inside the server as fast as it can, lean client",
      unit: "messages delivered/s",
      bars: results.streaming.throughput.map((r) => ({ label: `${r.peer}, ${r.subscribers} subscribers`, value: r.deliveredPerSecond })),
    });
    panels.push({
      title: `Memory per idle stream (${results.streaming.idleMemory[0]?.streams ?? 0} open)`,
      unit: "KiB RSS, lower is better",
      bars: results.streaming.idleMemory.map((m) => ({ label: m.peer, value: Math.round(m.rssBytesPerStream / 102.4) / 10 })),
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
  parts.push(`<text x="10" y="20" font-size="15" font-weight="bold">Stockify Gateway bench, ${escapeXml(results.machine.date.slice(0, 10))}, Node ${escapeXml(results.machine.node)}, ${results.machine.cores} cores (shared)</text>`);
  if (panels.length === 0) parts.push(`<text x="10" y="${(y += 20)}" font-size="12">nothing measured</text>`);
  for (const panel of panels) {
    y += 22;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${escapeXml(panel.title)} (${escapeXml(panel.unit)})</text>`);
    y += 8;
    const max = Math.max(1, ...panel.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
    for (const bar of panel.bars) {
      const value = Number.isFinite(bar.value) ? bar.value : 0;
      const length = Math.max(1, Math.round(((WIDTH - LABEL_WIDTH - 110) * value) / max));
      parts.push(
        `<text x="${LABEL_WIDTH - 6}" y="${y + BAR_HEIGHT - 5}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${length}" height="${BAR_HEIGHT}" fill="${colorOf(bar.label)}"/>`,
        `<text x="${LABEL_WIDTH + length + 6}" y="${y + BAR_HEIGHT - 5}" font-size="12">${escapeXml(Number.isFinite(bar.value) ? bar.value.toLocaleString("en-US", { maximumFractionDigits: 2 }) : "n/a")}</text>`,
      );
      y += BAR_HEIGHT + GAP;
    }
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

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
