/** AXIS_COLOR is the colour of axis labels. */
export const AXIS_COLOR = "#94a3b8";
/** GRID_COLOR is the colour of grid lines. */
export const GRID_COLOR = "#1f2a44";
/** FONT is the font of axis labels. */
export const FONT = "12px system-ui, sans-serif";

const priceFormat = new Intl.NumberFormat("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** formatPrice labels a price axis tick. */
export function formatPrice(price: number): string {
  return priceFormat.format(price);
}

/** formatTime labels a time axis tick, in the viewer's time zone. */
export function formatTime(time: number): string {
  return new Date(time).toTimeString().slice(0, 8);
}

/** niceTicks returns round price ticks (1, 2 or 5 times a power of ten apart) that cover [min, max]. */
export function niceTicks(min: number, max: number, count: number): number[] {
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

/**
 * timeTicksBetween returns time ticks on round seconds, minutes or hours,
 * at most `count` of them and at least `minStepMs` apart (a bar's width:
 * a label inside a bar marks nothing).
 */
export function timeTicksBetween(start: number, end: number, count: number, minStepMs = 0): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600].map((s) => s * 1000);
  const step = steps.find((s) => s >= minStepMs && (end - start) / s <= count) ?? steps.at(-1)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  return ticks;
}
