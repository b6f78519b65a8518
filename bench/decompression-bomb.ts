// What a token-less PublishTicks with a gzip bomb for a body costs the
// gateway: four at once (84 KiB each, 42 MiB of ticks inflated), sent to a
// gateway with auth on; reports how soon they are refused, the GetSnapshot
// latency other callers see meanwhile, and the gateway's peak RSS. Give
// another checkout of the gateway to compare with an older build.
//
//   node --import tsx bench/decompression-bomb.ts [--repo <checkout>]
import { spawn } from "node:child_process";
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { repo: { type: "string", default: fileURLToPath(new URL("../", import.meta.url)) } } });
const dir = values.repo;
const TICKS = 3_400_000;
// A Tick {symbol_id: 13, ltp: 100.5} is 11 bytes: tag 0x08 13, tag 0x11 + 8 bytes; each wrapped as field 1 of the request.
const tick = Buffer.from([0x0a, 11, 0x08, 13, 0x11, 0, 0, 0, 0, 0, 0x20, 0x59, 0x40]);
const message = Buffer.alloc(tick.length * TICKS);
for (let i = 0; i < TICKS; i++) tick.copy(message, i * tick.length);
const compressed = gzipSync(message);
const body = Buffer.alloc(5 + compressed.length);
body[0] = 1;
body.writeUInt32BE(compressed.length, 1);
compressed.copy(body, 5);
console.log(`body: ${(compressed.length / 1024).toFixed(0)} KiB gzip, ${(message.length / 1048576).toFixed(1)} MiB inflated, ${TICKS} ticks`);

const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
  cwd: dir,
  env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", SIMULATOR: "on", SIMULATOR_SYMBOLS: "0", AUTH_TOKENS: "reader:read,writer:write", MAX_MESSAGE_BYTES: `${64 << 20}` },
  stdio: ["ignore", "pipe", "pipe"],
});
let out = "";
child.stdout!.on("data", (c) => (out += c));
child.stderr!.on("data", (c) => (out += c));
const port = await new Promise<number>((resolve) => {
  const poll = setInterval(() => {
    const match = /listening at http:\/\/127\.0\.0\.1:(\d+)/i.exec(out);
    if (match) {
      clearInterval(poll);
      resolve(Number(match[1]));
    }
  }, 50);
});
const base = `http://127.0.0.1:${port}`;
function call(session: http2.ClientHttp2Session, path: string, payload: Buffer, headers: http2.OutgoingHttpHeaders): Promise<{ ms: number; status: string | undefined }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const s = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    let status: string | undefined;
    s.on("response", (h) => (status ??= h["grpc-status"] as string | undefined));
    s.on("trailers", (h) => (status = h["grpc-status"] as string));
    s.on("error", () => {});
    s.resume();
    s.on("close", () => resolve({ ms: performance.now() - start, status }));
    s.end(payload);
  });
}
const get = Buffer.from([0, 0, 0, 0, 2, 0x08, 13]);
const reader = http2.connect(base);
for (let i = 0; i < 50; i++) await call(reader, "/stockify.v1.MarketDataService/GetSnapshot", get, { authorization: "Bearer reader" });
const bombers = Array.from({ length: 4 }, () => http2.connect(base));
const latencies: number[] = [];
let bombing = true;
const probe = (async () => {
  while (bombing) {
    latencies.push((await call(reader, "/stockify.v1.MarketDataService/GetSnapshot", get, { authorization: "Bearer reader" })).ms);
    await new Promise((r) => setTimeout(r, 5));
  }
})();
const started = performance.now();
const results = await Promise.all(bombers.map((s) => call(s, "/stockify.v1.MarketFeedService/PublishTicks", body, { "grpc-encoding": "gzip" })));
const elapsed = performance.now() - started;
bombing = false;
await probe;
latencies.sort((a, b) => a - b);
const rss = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) / 1024;
console.log(`4 token-less bombs: statuses ${results.map((r) => r.status).join(",")}; refused within ${elapsed.toFixed(0)} ms (slowest ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms)`);
console.log(`other callers' GetSnapshot meanwhile: ${latencies.length} calls, p50 ${latencies[Math.floor(latencies.length * 0.5)]!.toFixed(1)} ms, p99 ${latencies[Math.floor(latencies.length * 0.99)]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`);
console.log(`gateway peak RSS (VmHWM): ${rss.toFixed(0)} MiB`);
reader.destroy();
for (const s of bombers) s.destroy();
child.kill("SIGKILL");
process.exit(0);
