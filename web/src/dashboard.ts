import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { LiveTable } from "./live-table.js";
import { PriceChart, type PricePoint } from "./price-chart.js";
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
const client = createClient(MarketDataService, createConnectTransport({ baseUrl, interceptors }));

const status = document.querySelector<HTMLElement>("#status")!;
const select = document.querySelector<HTMLSelectElement>("#symbol-select")!;
const caption = document.querySelector<HTMLElement>("#chart-caption")!;
const chart = new PriceChart(document.querySelector<HTMLCanvasElement>("#chart")!);
const history = new Map<number, PricePoint[]>();
const names = new Map<number, string>();
let charted: number | undefined;

const table = new LiveTable(document.querySelector<HTMLTableSectionElement>("#rows")!, {
  onRemove: (symbolId) => {
    table.remove(symbolId);
    history.delete(symbolId);
    if (charted === symbolId) showChart(table.symbolIds[0]);
    feed.follow(table.symbolIds);
  },
  onSelect: (symbolId) => showChart(symbolId),
});

const feed = new SnapshotFeed(client, {
  onSnapshot(snapshot) {
    table.update(snapshot);
    const points = history.get(snapshot.symbolId) ?? [];
    const time = snapshot.exchangeTime === undefined ? Date.now() : timestampMs(snapshot.exchangeTime);
    const point = { time, price: snapshot.ltp };
    points.push(point);
    if (points.length > 240) points.shift();
    history.set(snapshot.symbolId, points);
    if (snapshot.symbolId === charted) chart.push(point);
  },
  onState(state: FeedState, detail?: string) {
    status.dataset.state = state;
    status.textContent = detail === undefined ? state : `${state}: ${detail}`;
  },
});

function showChart(symbolId: number | undefined): void {
  charted = symbolId;
  if (symbolId !== undefined) table.select(symbolId);
  chart.reset(symbolId === undefined ? [] : (history.get(symbolId) ?? []));
  caption.textContent = symbolId === undefined ? "" : `${names.get(symbolId) ?? symbolId}: last traded price`;
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
