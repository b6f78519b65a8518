import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketHistoryService } from "../../src/gen/stockify/v1/market_history_service_pb.js";
import { CandleChart, type PriceBar } from "./candle-chart.js";
import { CandleFeed } from "./candle-feed.js";
import { LiveTable } from "./live-table.js";
import { SnapshotFeed, type FeedState } from "./snapshot-feed.js";

// The page talks to the gateway that served it unless `?gateway=` names
// another (CORS lets it); `?token=` adds a bearer token; `?symbols=` picks
// the first rows.
const params = new URLSearchParams(location.search);
const baseUrl = params.get("gateway") ?? location.origin;
const token = params.get("token");
const initial = (params.get("symbols") ?? "13,25,27").split(",").map(Number).filter((id) => Number.isInteger(id) && id > 0);

const interceptors: Interceptor[] = [];
if (token !== null) {
  interceptors.push((next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  });
}
const transport = createConnectTransport({ baseUrl, interceptors });
const client = createClient(MarketDataService, transport);

/** The chart's bars: one minute wide, today's from the gateway's history. */
const INTERVAL = "1m";
const INTERVAL_MS = 60_000;

const status = document.querySelector<HTMLElement>("#status")!;
const select = document.querySelector<HTMLSelectElement>("#symbol-select")!;
const caption = document.querySelector<HTMLElement>("#chart-caption")!;
const chart = new CandleChart(document.querySelector<HTMLCanvasElement>("#chart")!, INTERVAL_MS);
// Bars folded from the live prices the page sees, per symbol: the chart's
// source when the gateway keeps no history.
const seen = new Map<number, PriceBar[]>();
const names = new Map<number, string>();
let charted: number | undefined;
// False once the gateway has refused history for every symbol.
let historyServed = true;
// Whether the charted symbol's bars come from the live prices.
let chartFromLive = false;

const candles = new CandleFeed(createClient(MarketHistoryService, transport), {
  interval: INTERVAL,
  onBars(symbolId, bars, fresh) {
    if (symbolId !== charted) return;
    if (fresh) chart.reset(bars);
    else for (const bar of bars) chart.upsert(bar);
  },
  onBar(symbolId, bar) {
    if (symbolId === charted) chart.upsert(bar);
  },
  onUnavailable(symbolId, reason, everywhere) {
    if (everywhere) historyServed = false;
    if (symbolId !== charted) return;
    chartFromLive = true;
    chart.reset(seen.get(symbolId) ?? []);
    caption.textContent = `${liveCaption(symbolId)} (no history: ${reason})`;
  },
});

const table = new LiveTable(document.querySelector<HTMLTableSectionElement>("#rows")!, {
  onRemove: (symbolId) => {
    table.remove(symbolId);
    seen.delete(symbolId);
    if (charted === symbolId) showChart(table.symbolIds[0]);
    feed.follow(table.symbolIds);
  },
  onSelect: (symbolId) => showChart(symbolId),
});

const feed = new SnapshotFeed(client, {
  onSnapshot(snapshot) {
    table.update(snapshot);
    const time = snapshot.exchangeTime === undefined ? Date.now() : timestampMs(snapshot.exchangeTime);
    const bars = seen.get(snapshot.symbolId) ?? [];
    seen.set(snapshot.symbolId, bars);
    const bar = foldPrice(bars, time, snapshot.ltp);
    if (chartFromLive && snapshot.symbolId === charted) chart.upsert(bar);
  },
  onState(state: FeedState, detail?: string) {
    status.dataset.state = state;
    status.textContent = detail === undefined ? state : `${state}: ${detail}`;
  },
});

function showChart(symbolId: number | undefined): void {
  charted = symbolId;
  if (symbolId !== undefined) table.select(symbolId);
  chartFromLive = !historyServed;
  chart.reset(chartFromLive && symbolId !== undefined ? (seen.get(symbolId) ?? []) : []);
  caption.textContent = symbolId === undefined ? "" : chartFromLive ? liveCaption(symbolId) : `${names.get(symbolId) ?? symbolId}: today's 1-minute bars`;
  candles.show(chartFromLive ? undefined : symbolId, () => chart.last?.time);
}

function liveCaption(symbolId: number): string {
  return `${names.get(symbolId) ?? symbolId}: 1-minute bars since this page opened`;
}

/** foldPrice adds a live price to the bar of its minute, and returns that bar. */
function foldPrice(bars: PriceBar[], time: number, price: number): PriceBar {
  const start = time - (time % INTERVAL_MS);
  const last = bars.at(-1);
  if (last !== undefined && last.time === start) {
    const bar = { ...last, high: Math.max(last.high, price), low: Math.min(last.low, price), close: price };
    bars[bars.length - 1] = bar;
    return bar;
  }
  const bar = { time: start, open: price, high: price, low: price, close: price };
  if (last === undefined || last.time < start) bars.push(bar);
  if (bars.length > 1440) bars.shift();
  return bar;
}

document.querySelector<HTMLFormElement>("#picker")!.addEventListener("submit", (event) => {
  event.preventDefault();
  const symbolId = Number(select.value);
  if (!Number.isInteger(symbolId) || symbolId <= 0 || table.symbolIds.includes(symbolId)) return;
  table.add(symbolId, names.get(symbolId) ?? String(symbolId));
  if (charted === undefined) showChart(symbolId);
  feed.follow(table.symbolIds);
});

async function start(): Promise<void> {
  try {
    const { symbols } = await client.listSymbols({});
    for (const { symbolId, symbol } of symbols) {
      names.set(symbolId, symbol);
      select.add(new Option(`${symbol} (${symbolId})`, String(symbolId)));
    }
  } catch (error) {
    status.dataset.state = "error";
    status.textContent = `cannot list symbols: ${error instanceof Error ? error.message : String(error)}`;
  }
  for (const symbolId of initial) table.add(symbolId, names.get(symbolId) ?? String(symbolId));
  showChart(table.symbolIds[0]);
  feed.follow(table.symbolIds);
}

void start();
