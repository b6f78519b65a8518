import type { Interceptor } from "@connectrpc/connect";

/**
 * InterceptorSlot is one interceptor a test hands the gateway at start, into
 * which it plugs and unplugs interceptors of its own while the gateway runs:
 * the gateway's chain is frozen once built.
 */
export class InterceptorSlot {
  readonly #plugged: Interceptor[] = [];

  /** The interceptor to give the gateway; it runs whatever is plugged in, in order. */
  readonly interceptor: Interceptor = (next) => (req) => {
    let call = next;
    for (let i = this.#plugged.length - 1; i >= 0; i--) call = this.#plugged[i]!(call);
    return call(req);
  };

  /** Plugs an interceptor in, after those already plugged. */
  plug(interceptor: Interceptor): void {
    this.#plugged.push(interceptor);
  }

  /** Unplugs an interceptor. */
  unplug(interceptor: Interceptor): void {
    const index = this.#plugged.indexOf(interceptor);
    if (index !== -1) this.#plugged.splice(index, 1);
  }
}
