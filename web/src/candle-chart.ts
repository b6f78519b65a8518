import { AXIS_COLOR, FONT, GRID_COLOR, formatPrice, formatTime, niceTicks, timeTicksBetween } from "./chart-axes.js";

/**
 * PriceBar is one OHLC bar: the prices traded in [time, time + the chart's interval).
 */
export interface PriceBar {
  /** Start of the bar, in ms since the epoch. */
  readonly time: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
}

const UP_COLOR = "#22c55e";
const DOWN_COLOR = "#f87171";
/** The narrowest slot a bar gets, in CSS pixels: below it the oldest bars are left out. */
const MIN_SLOT_PX = 5;
/** The fewest intervals the time axis spans. */
const MIN_SLOTS = 30;
/** Most bars kept: a day of 1-minute bars. */
const CAPACITY = 1440;

/**
 * CandleChart draws the bars of one symbol as candlesticks on a canvas
 * with a price axis and a time axis, redrawn at most once per animation
 * frame. The canvas is sized to its box in device pixels, so its labels
 * stay sharp and unsquashed at any width; when the bars do not fit, the
 * newest are shown. The last drawing leaves the number of bars drawn in
 * `data-bar-count`, the close of the newest in `data-last-close`, and the
 * tick labels in `data-price-ticks` and `data-time-ticks`.
 */
export class CandleChart {
  readonly #canvas: HTMLCanvasElement;
  readonly #intervalMs: number;
  readonly #bars: PriceBar[] = [];
  #pending = false;

  constructor(canvas: HTMLCanvasElement, intervalMs: number) {
    this.#canvas = canvas;
    this.#intervalMs = intervalMs;
    new ResizeObserver(() => this.#schedule()).observe(canvas);
  }

  /** Starts over with these bars, oldest first (another symbol, or a fresh read). */
  reset(bars: readonly PriceBar[] = []): void {
    this.#bars.length = 0;
    for (const bar of bars) this.upsert(bar);
    this.#schedule();
  }

  /** Adds a bar, or replaces the one with the same start (the bar in progress). */
  upsert(bar: PriceBar): void {
    const bars = this.#bars;
    // Bars nearly always arrive at the end; search from there.
    let i = bars.length;
    while (i > 0 && bars[i - 1]!.time > bar.time) i--;
    if (i > 0 && bars[i - 1]!.time === bar.time) bars[i - 1] = bar;
    else bars.splice(i, 0, bar);
    if (bars.length > CAPACITY) bars.shift();
    this.#schedule();
  }

  /** The newest bar, if any. */
  get last(): PriceBar | undefined {
    return this.#bars.at(-1);
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
    if (this.#bars.length === 0 || width === 0 || height === 0) {
      canvas.dataset.barCount = "0";
      canvas.dataset.lastClose = "";
      canvas.dataset.priceTicks = "";
      canvas.dataset.timeTicks = "";
      return;
    }

    context.font = FONT;
    const step = this.#intervalMs;
    // A first guess at the plot's width decides which bars fit; the price
    // labels that then narrow it are only those bars' prices.
    const fits = Math.max(1, Math.floor((width - 96) / MIN_SLOT_PX));
    const end = this.#bars.at(-1)!.time + step;
    // A few bars get room for a time axis rather than filling the width.
    const slots = Math.min(fits, Math.max(MIN_SLOTS, (end - this.#bars[0]!.time) / step));
    const start = end - slots * step;
    const bars = this.#bars.filter((bar) => bar.time >= start);
    const priceTicks = niceTicks(Math.min(...bars.map((b) => b.low)), Math.max(...bars.map((b) => b.high)), Math.max(2, Math.floor(height / 48)));
    const low = priceTicks[0]!;
    const high = priceTicks.at(-1)!;
    const labelWidth = Math.max(...priceTicks.map((t) => context.measureText(formatPrice(t)).width));
    const plot = { left: 8, top: 8, right: width - labelWidth - 16, bottom: height - 24 };
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
    const allTimeTicks = timeTicksBetween(start, end, Math.max(2, Math.floor((plot.right - plot.left) / timeLabelWidth)), step);
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

    // Candlesticks: a wick from low to high, a body from open to close,
    // green when the bar closed at or above its open and red below.
    const slot = (plot.right - plot.left) / ((end - start) / step);
    const body = Math.max(1, Math.min(slot * 0.7, 24));
    for (const bar of bars) {
      const centre = Math.round(x(bar.time) + slot / 2) + 0.5;
      const colour = bar.close >= bar.open ? UP_COLOR : DOWN_COLOR;
      context.strokeStyle = colour;
      context.fillStyle = colour;
      context.beginPath();
      context.moveTo(centre, y(bar.high));
      context.lineTo(centre, y(bar.low));
      context.stroke();
      const top = y(Math.max(bar.open, bar.close));
      context.fillRect(centre - body / 2, top, body, Math.max(1, y(Math.min(bar.open, bar.close)) - top));
    }

    canvas.dataset.barCount = String(bars.length);
    canvas.dataset.lastClose = String(bars.at(-1)!.close);
    canvas.dataset.priceTicks = priceTicks.map(formatPrice).join(" ");
    canvas.dataset.timeTicks = timeTicks.map(formatTime).join(" ");
  }
}
