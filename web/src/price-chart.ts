/**
 * PricePoint is one last traded price and when it was traded (ms since the epoch).
 */
export interface PricePoint {
  readonly time: number;
  readonly price: number;
}

const AXIS_COLOR = "#94a3b8";
const GRID_COLOR = "#1f2a44";
const FONT = "12px system-ui, sans-serif";

/**
 * PriceChart draws the recent last traded prices of one symbol as a line
 * on a canvas with a price axis and a time axis, redrawn at most once per
 * animation frame. The canvas is sized to its box in device pixels, so its
 * labels stay sharp and unsquashed at any width. The tick labels of the
 * last drawing are left in `data-price-ticks` and `data-time-ticks`.
 */
export class PriceChart {
  readonly #canvas: HTMLCanvasElement;
  readonly #points: PricePoint[] = [];
  readonly #capacity: number;
  #pending = false;

  constructor(canvas: HTMLCanvasElement, capacity = 240) {
    this.#canvas = canvas;
    this.#capacity = capacity;
    new ResizeObserver(() => this.#schedule()).observe(canvas);
  }

  /** Starts over, for another symbol. */
  reset(points: readonly PricePoint[] = []): void {
    this.#points.length = 0;
    this.#points.push(...points.slice(-this.#capacity));
    this.#schedule();
  }

  /** Adds the newest price. */
  push(point: PricePoint): void {
    this.#points.push(point);
    if (this.#points.length > this.#capacity) this.#points.shift();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#pending) return;
    this.#pending = true;
    requestAnimationFrame(() => {
      this.#pending = false;
      this.#draw();
    });
  }

  #draw(): void {
    const canvas = this.#canvas;
    const context = canvas.getContext("2d");
    if (context === null) return;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    const points = this.#points;
    if (points.length < 2 || width === 0 || height === 0) {
      canvas.dataset.priceTicks = "";
      canvas.dataset.timeTicks = "";
      return;
    }

    context.font = FONT;
    const prices = points.map((p) => p.price);
    const priceTicks = niceTicks(Math.min(...prices), Math.max(...prices), Math.max(2, Math.floor(height / 48)));
    const low = priceTicks[0]!;
    const high = priceTicks.at(-1)!;
    const labelWidth = Math.max(...priceTicks.map((t) => context.measureText(formatPrice(t)).width));
    const plot = { left: 8, top: 8, right: width - labelWidth - 16, bottom: height - 24 };
    const start = points[0]!.time;
    const end = Math.max(points.at(-1)!.time, start + 1);
    const x = (time: number) => plot.left + ((time - start) / (end - start)) * (plot.right - plot.left);
    const y = (price: number) => plot.bottom - ((price - low) / (high - low || 1)) * (plot.bottom - plot.top);

    // Price axis on the right, as trading screens have it, with grid lines.
    context.fillStyle = AXIS_COLOR;
    context.strokeStyle = GRID_COLOR;
    context.lineWidth = 1;
    context.textAlign = "left";
    context.textBaseline = "middle";
    for (const tick of priceTicks) {
      const ty = Math.round(y(tick)) + 0.5;
      context.beginPath();
      context.moveTo(plot.left, ty);
      context.lineTo(plot.right, ty);
      context.stroke();
      context.fillText(formatPrice(tick), plot.right + 8, Math.min(ty, plot.bottom - 6));
    }

    // Time axis along the bottom: as many labels as fit without touching.
    const timeLabelWidth = context.measureText("00:00:00").width + 16;
    const allTimeTicks = timeTicksBetween(start, end, Math.max(2, Math.floor((plot.right - plot.left) / timeLabelWidth)));
    context.textAlign = "center";
    context.textBaseline = "top";
    const half = timeLabelWidth / 2 - 8;
    // A label that would run into the price axis, or off the left, is left out.
    const timeTicks = allTimeTicks.filter((tick) => x(tick) - half >= 0 && x(tick) + half <= plot.right);
    for (const tick of timeTicks) {
      const tx = Math.round(x(tick)) + 0.5;
      context.beginPath();
      context.moveTo(tx, plot.top);
      context.lineTo(tx, plot.bottom);
      context.stroke();
      context.fillText(formatTime(tick), tx, plot.bottom + 6);
    }

    context.lineWidth = 2;
    context.strokeStyle = points.at(-1)!.price >= points[0]!.price ? "#22c55e" : "#f87171";
    context.beginPath();
    points.forEach((p, i) => (i === 0 ? context.moveTo(x(p.time), y(p.price)) : context.lineTo(x(p.time), y(p.price))));
    context.stroke();

    canvas.dataset.priceTicks = priceTicks.map(formatPrice).join(" ");
    canvas.dataset.timeTicks = timeTicks.map(formatTime).join(" ");
  }
}

const priceFormat = new Intl.NumberFormat("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function formatPrice(price: number): string {
  return priceFormat.format(price);
}

function formatTime(time: number): string {
  return new Date(time).toTimeString().slice(0, 8);
}

/** Round price ticks (1, 2 or 5 times a power of ten apart) that cover [min, max]. */
function niceTicks(min: number, max: number, count: number): number[] {
  if (min === max) {
    const pad = Math.max(Math.abs(min) * 0.001, 0.01);
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.floor(min / step) * step; t <= max + step / 2; t += step) ticks.push(Number(t.toFixed(10)));
  if (ticks.at(-1)! < max) ticks.push(ticks.at(-1)! + step);
  return ticks;
}

/** Time ticks on round seconds or minutes, at most `count` of them. */
function timeTicksBetween(start: number, end: number, count: number): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600].map((s) => s * 1000);
  const step = steps.find((s) => (end - start) / s <= count) ?? steps.at(-1)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  return ticks;
}
