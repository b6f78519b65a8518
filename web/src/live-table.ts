import type { Snapshot } from "../../src/gen/stockify/v1/snapshot_pb.js";

const price = new Intl.NumberFormat("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const count = new Intl.NumberFormat("en-IN");

/**
 * LiveTable keeps one row per followed symbol, marked
 * `data-symbol-id="<id>"`, with each value in a cell marked
 * `data-field="<name>"` (`ltp` holds the last traded price).
 */
export class LiveTable {
  readonly #body: HTMLTableSectionElement;
  readonly #rows = new Map<number, HTMLTableRowElement>();
  readonly #onRemove: (symbolId: number) => void;
  readonly #onSelect: (symbolId: number) => void;

  constructor(body: HTMLTableSectionElement, handlers: { onRemove(symbolId: number): void; onSelect(symbolId: number): void }) {
    this.#body = body;
    this.#onRemove = handlers.onRemove;
    this.#onSelect = handlers.onSelect;
  }

  /** The symbols on the table, in row order. */
  get symbolIds(): number[] {
    return [...this.#rows.keys()];
  }

  /** Adds an empty row, filled by the first snapshot. */
  add(symbolId: number, name: string): void {
    if (this.#rows.has(symbolId)) return;
    const row = document.createElement("tr");
    row.dataset.symbolId = String(symbolId);
    row.innerHTML = `<td data-field="symbol"></td><td data-field="ltp">—</td><td data-field="change"></td><td data-field="changePercent"></td><td data-field="bid"></td><td data-field="ask"></td><td data-field="volume"></td><td data-field="sequence"></td><td><button type="button" data-action="remove" aria-label="Remove" title="Remove">×</button></td>`;
    this.#cell(row, "symbol").textContent = `${name} (${symbolId})`;
    row.querySelector("button")!.addEventListener("click", (event) => {
      event.stopPropagation();
      this.#onRemove(symbolId);
    });
    row.addEventListener("click", () => this.#onSelect(symbolId));
    this.#rows.set(symbolId, row);
    this.#body.append(row);
  }

  /** Removes a symbol's row. */
  remove(symbolId: number): void {
    this.#rows.get(symbolId)?.remove();
    this.#rows.delete(symbolId);
  }

  /** Marks the row whose chart is shown. */
  select(symbolId: number): void {
    for (const [id, row] of this.#rows) row.setAttribute("aria-selected", String(id === symbolId));
  }

  /** Shows a snapshot in its row. */
  update(snapshot: Snapshot): void {
    const row = this.#rows.get(snapshot.symbolId);
    if (row === undefined) return;
    const change = snapshot.close > 0 ? snapshot.ltp - snapshot.close : 0;
    const direction = change > 0 ? "up" : change < 0 ? "down" : "flat";
    const ltp = this.#cell(row, "ltp");
    const text = price.format(snapshot.ltp);
    if (ltp.textContent !== text) {
      ltp.textContent = text;
      // Restart the highlight on every change of price.
      ltp.classList.remove("flash");
      void ltp.offsetWidth;
      ltp.classList.add("flash");
    }
    ltp.dataset.value = String(snapshot.ltp);
    for (const field of ["change", "changePercent"]) this.#cell(row, field).dataset.direction = direction;
    this.#cell(row, "change").textContent = (change > 0 ? "+" : "") + price.format(change);
    this.#cell(row, "changePercent").textContent = snapshot.close > 0 ? `${((change / snapshot.close) * 100).toFixed(2)}%` : "";
    this.#cell(row, "bid").textContent = snapshot.bid > 0 ? price.format(snapshot.bid) : "";
    this.#cell(row, "ask").textContent = snapshot.ask > 0 ? price.format(snapshot.ask) : "";
    this.#cell(row, "volume").textContent = count.format(snapshot.volume);
    this.#cell(row, "sequence").textContent = String(snapshot.sequence);
  }

  #cell(row: HTMLTableRowElement, field: string): HTMLElement {
    return row.querySelector(`[data-field="${field}"]`)!;
  }
}
