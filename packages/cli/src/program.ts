import { createRequire } from "node:module";
import { Command, InvalidArgumentError, Option } from "commander";
import { createLogUpdate } from "log-update";
import {
  CANDLE_INTERVALS,
  DEFAULT_BASE_URL,
  MarketDataClient,
  type CandleInterval,
  type FieldMode,
  type ReconnectEvent,
  type Snapshot,
} from "@stockify/client";
import { candleHeader, candleJson, candleRow, candleStartMs, candleTable } from "./candle-view.js";
import { depthTable, snapshotJson, snapshotTable, symbolTable } from "./snapshot-view.js";

/**
 * CliIo is where the command writes and what it reads from its
 * environment; tests and embedders pass their own.
 */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborts when the user interrupts a long-running command (Ctrl-C). */
  interrupt: AbortSignal;
  /** Records the exit status: 1 when a command found something wrong. */
  setExitCode(code: number): void;
}

interface GlobalOptions {
  url: string;
  token?: string;
  json?: boolean;
  timeout: number;
}

/** How often `watch` redraws its table at most, in milliseconds. */
const REDRAW_MS = 100;

/** The most recent bars a candle stream starts with, as the gateway caps them. */
const MAX_RECENT_BARS = 5000;

const INTERVAL_MS: Record<CandleInterval, number> = { "1s": 1000, "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000 };

// From src/ and from dist/ alike, the package's manifest is one folder up.
const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

/**
 * createProgram builds the `stockify` command: `get`, `batch`, `symbols`,
 * `watch`, `candles`, `health` and `completion`, with `--url`, `--token` and `--json`
 * for every one, and `--version`.
 */
export function createProgram(io: CliIo): Command {
  const program = new Command("stockify")
    .description("Read live market data from a Stockify gateway.")
    .option("--url <url>", "gateway address (STOCKIFY_URL)", io.env.STOCKIFY_URL ?? DEFAULT_BASE_URL)
    .option("--token <token>", "bearer token (STOCKIFY_TOKEN)", io.env.STOCKIFY_TOKEN)
    .option("--json", "print proto3 JSON, one object per line, for scripts")
    .option("--timeout <ms>", "deadline of each call", positiveInteger, 5000)
    .version(version, "-V, --version", "print the version of stockify")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError()
    // Parse errors and --help throw CommanderError rather than exiting, so
    // an embedder (or a test) keeps its process; main.ts turns them into
    // the exit status.
    .exitOverride();

  const withClient = async (run: (client: MarketDataClient, options: GlobalOptions) => Promise<void>) => {
    const options = program.opts<GlobalOptions>();
    const client = new MarketDataClient({ baseUrl: options.url, token: options.token, timeoutMs: options.timeout });
    try {
      await run(client, options);
    } finally {
      await client.close();
    }
  };
  const print = (text: string) => io.stdout.write(`${text}\n`);

  program
    .command("get")
    .description("print the snapshot of one symbol")
    .argument("<symbol-id>", "symbol id, e.g. 13 (NIFTY 50)", positiveInteger)
    .action((symbolId: number) =>
      withClient(async (client, { json }) => {
        const snapshot = await client.getSnapshot(symbolId);
        print(json ? snapshotJson(snapshot) : snapshotTable([snapshot]));
      }),
    );

  program
    .command("batch")
    .description("print the snapshots of many symbols, read in one call")
    .argument("<symbol-ids...>", "symbol ids, e.g. 13 25 27", symbolIdList)
    .action((symbolIds: number[]) =>
      withClient(async (client, { json }) => {
        const snapshots = await client.getBatchSnapshots(symbolIds);
        const missing = symbolIds.filter((id) => !snapshots.has(id));
        if (json) for (const snapshot of snapshots.values()) print(snapshotJson(snapshot));
        else print(snapshotTable(snapshots.values()));
        if (missing.length > 0) {
          io.stderr.write(`unknown symbols: ${missing.join(", ")}\n`);
          io.setExitCode(1);
        }
      }),
    );

  program
    .command("symbols")
    .description("list the symbols the gateway knows")
    .action(() =>
      withClient(async (client, { json }) => {
        const symbols = await client.listSymbols();
        if (json) for (const { symbolId, symbol } of symbols) print(JSON.stringify({ symbolId, symbol }));
        else print(symbolTable(symbols));
      }),
    );

  program
    .command("watch")
    .description("show a live table of symbols until interrupted (Ctrl-C)")
    .argument("<symbol-ids...>", "symbol ids, e.g. 13 25 27", symbolIdList)
    .option("--limit <n>", "stop after this many updates", positiveInteger)
    .addOption(
      new Option("--mode <mode>", "fields of each update: ltp (price, sequence, time), quote, or full (quote and 5-level depth)")
        .choices(["ltp", "quote", "full"])
        .default("quote"),
    )
    .option("--max-rate <n>", "at most this many updates per symbol per second, the latest; 0 for every update", wholeNumber, 0)
    .action((symbolIds: number[], { limit, mode, maxRate }: { limit?: number; mode: FieldMode; maxRate: number }) =>
      withClient(async (client, { json }) => {
        const latest = new Map<number, Snapshot>();
        const before = new Map<number, number>();
        // A terminal gets one table redrawn in place; a pipe or a file gets
        // each frame appended, with no cursor movement in the bytes.
        const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
        const log = tty ? createLogUpdate(io.stdout, { defaultWidth: 120 }) : Object.assign((text: string) => print(`${text}\n`), { done() {} });
        let dirty = false;
        const draw = () => {
          if (!dirty) return;
          dirty = false;
          const rows = symbolIds.flatMap((id) => latest.get(id) ?? []);
          const books = mode === "full" ? rows.map(depthTable).filter((book) => book !== "") : [];
          log(
            [snapshotTable(rows, before), ...books, `${rows.length}/${symbolIds.length} symbols · ${client.options.baseUrl} · Ctrl-C to stop`].join("\n"),
          );
        };
        // A wrong address fails at once; a gateway lost later is waited for.
        await client.connect();
        const timer = json ? undefined : setInterval(draw, REDRAW_MS);
        let received = 0;
        const onReconnect = (event: ReconnectEvent) =>
          io.stderr.write(`reconnecting (attempt ${event.attempt}): ${event.error.message}\n`);
        try {
          const stream = client.subscribeSnapshots(symbolIds, { signal: io.interrupt, onReconnect, mode, maxUpdatesPerSecond: maxRate });
          for await (const snapshot of stream) {
            if (json) print(snapshotJson(snapshot));
            else {
              const previous = latest.get(snapshot.symbolId);
              if (previous !== undefined) before.set(snapshot.symbolId, previous.ltp);
              latest.set(snapshot.symbolId, snapshot);
              dirty = true;
            }
            if (limit !== undefined && ++received >= limit) break;
          }
        } finally {
          clearInterval(timer);
          if (!json) {
            draw();
            log.done();
          }
        }
      }),
    );

  program
    .command("candles")
    .description("print OHLCV bars of one symbol, today's by default; --follow keeps printing the bar in progress")
    .argument("<symbol-id>", "symbol id, e.g. 13 (NIFTY 50)", positiveInteger)
    .addOption(new Option("--interval <width>", "width of each bar").choices(CANDLE_INTERVALS).default("1m"))
    .option("--from <time>", "first bar to print, ISO 8601 (e.g. 2026-12-01T09:15:00Z; no zone means local time); default 00:00 UTC today", isoTime)
    .addOption(new Option("--to <time>", "end of the range, exclusive, ISO 8601; default now").argParser(isoTime).conflicts("follow"))
    .option("--follow", `after the bars, print each change of the bar in progress until interrupted (Ctrl-C); starts at most ${MAX_RECENT_BARS} bars back`)
    .option("--limit <n>", "with --follow, stop after this many bars and changes", positiveInteger)
    .option("--json", "print proto3 JSON, one bar per line, for scripts")
    .action(
      (
        symbolId: number,
        options: { interval: CandleInterval; from?: number; to?: number; follow?: boolean; limit?: number; json?: boolean },
      ) =>
        withClient(async (client, globals) => {
          const { interval, from, to, follow, limit } = options;
          // --json reads naturally after the command too: `stockify candles 13 --json`.
          const json = globals.json === true || options.json === true;
          if (follow !== true) {
            const candles = await client.getCandles(symbolId, { interval, start: from, end: to });
            if (json) for (const candle of candles) print(candleJson(candle));
            else print(candleTable(candles));
            if (candles.length === 0) io.stderr.write(`no ${interval} bars for symbol ${symbolId} in this range\n`);
            return;
          }
          // The stream starts the given number of intervals back, so --from
          // becomes a count of bars, counted from the start of today by default.
          const width = INTERVAL_MS[interval];
          const now = Date.now();
          const since = from ?? now - (now % 86_400_000);
          const recentCount = Math.min(MAX_RECENT_BARS, Math.max(1, Math.floor(now / width) - Math.floor(since / width) + 1));
          // A wrong address fails at once; a gateway lost later is waited for.
          await client.connect();
          const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
          const onReconnect = (event: ReconnectEvent) => io.stderr.write(`reconnecting (attempt ${event.attempt}): ${event.error.message}\n`);
          let shown: number | undefined;
          let received = 0;
          if (!json) print(candleHeader());
          try {
            for await (const candle of client.streamCandles(symbolId, interval, { recentCount, signal: io.interrupt, onReconnect })) {
              if (json) print(candleJson(candle));
              else if (!tty) print(candleRow(candle));
              else {
                // A terminal keeps one line per bar: the bar in progress is
                // rewritten in place, and a new bar starts a new line.
                const start = candleStartMs(candle);
                io.stdout.write(`${shown === undefined ? "" : start === shown ? "\r\u001b[2K" : "\n"}${candleRow(candle)}`);
                shown = start;
              }
              if (limit !== undefined && ++received >= limit) break;
            }
          } finally {
            if (shown !== undefined) io.stdout.write("\n");
          }
        }),
    );

  program
    .command("health")
    .description("ask grpc.health.v1 whether the gateway (or one service) is serving; exit 1 if not")
    .argument("[service]", "a service name, e.g. stockify.v1.MarketDataService", "")
    .action((service: string) =>
      withClient(async (client, { json }) => {
        const status = await client.checkHealth(service);
        print(json ? JSON.stringify({ service, status }) : `${service === "" ? "gateway" : service}: ${status}`);
        if (status !== "SERVING") io.setExitCode(1);
      }),
    );

  program
    .command("completion")
    .description("print a bash completion script: eval \"$(stockify completion)\" (zsh: after bashcompinit)")
    .action(() => {
      io.stdout.write(bashCompletion(program));
    });

  return program;
}

/**
 * bashCompletion writes a bash completion script for the program, built
 * from its own commands and options so it never lags behind them.
 */
function bashCompletion(program: Command): string {
  const longNames = (command: Command) => command.options.flatMap((o) => (o.long === undefined ? [] : [o.long]));
  const globals = [...longNames(program), "--help"].join(" ");
  const cases = program.commands
    .map((command) => `      ${command.name()}) words="${[...longNames(command), "--help"].join(" ")}" ;;`)
    .join("\n");
  return `# bash completion for stockify: eval "$(stockify completion)"
_stockify() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" command="" words i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --url|--token|--timeout) ((i++)) ;;
      -*) ;;
      *) command="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z "$command" ]]; then
    words="${program.commands.map((c) => c.name()).join(" ")} ${globals}"
  else
    case "$command" in
${cases}
      *) words="" ;;
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _stockify stockify
`;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError("expected a positive integer");
  return parsed;
}

function isoTime(value: string): number {
  const parsed = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\d/.test(value) || Number.isNaN(parsed)) {
    throw new InvalidArgumentError("expected an ISO 8601 time, e.g. 2026-12-01T09:15:00Z");
  }
  return parsed;
}

function wholeNumber(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed > 0xffffffff) throw new InvalidArgumentError("expected a whole number from 0 to 4294967295");
  return parsed;
}

function symbolIdList(value: string, previous: number[] = []): number[] {
  return [...previous, positiveInteger(value)];
}
