/**
 * PriceChart draws the recent last traded prices of one symbol as a line
 * on a canvas, redrawn at most once per animation frame.
 */
export class PriceChart {
  readonly #canvas: HTMLCanvasElement;
  readonly #points: number[] = [];
  readonly #capacity: number;
  #pending = false;

  constructor(canvas: HTMLCanvasElement, capacity = 240) {
    this.#canvas = canvas;
    this.#capacity = capacity;
  }

  /** Starts over, for another symbol. */
  reset(points: readonly number[] = []): void {
    this.#points.length = 0;
    this.#points.push(...points.slice(-this.#capacity));
    this.#schedule();
  }

  /** Adds the newest price. */
  push(price: number): void {
    this.#points.push(price);
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
    const context = this.#canvas.getContext("2d");
    if (context === null) return;
    const { width, height } = this.#canvas;
    context.clearRect(0, 0, width, height);
    const points = this.#points;
    if (points.length < 2) return;
    const min = Math.min(...points);
    const max = Math.max(...points);
    const span = max - min || 1;
    const pad = 8;
    const x = (i: number) => pad + (i / (points.length - 1)) * (width - 2 * pad);
    const y = (p: number) => height - pad - ((p - min) / span) * (height - 2 * pad);
    context.lineWidth = 2;
    context.strokeStyle = points.at(-1)! >= points[0]! ? "#15803d" : "#b91c1c";
    context.beginPath();
    points.forEach((p, i) => (i === 0 ? context.moveTo(x(i), y(p)) : context.lineTo(x(i), y(p))));
    context.stroke();
    context.fillStyle = "#888";
    context.font = "12px system-ui, sans-serif";
    context.textAlign = "right";
    context.fillText(max.toFixed(2), width - pad, 14);
    context.fillText(min.toFixed(2), width - pad, height - pad - 2);
  }
}
