/**
 * A tiny typed event emitter for the SDK's objects (no `node:events` in a browser).
 * A listener that throws does not disturb the emitter or the other listeners: the
 * error is rethrown asynchronously, like an exception in a DOM event listener.
 *
 * @example
 * class Thing extends Emitter<{ tick: [n: number] }> {}
 * const t = new Thing();
 * t.on("tick", (n) => console.log(n));
 * t.emit("tick", 1);
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- listener argument lists of any shape
type Listener = (...args: any[]) => void;

/**
 * The typed emitter the SDK's objects extend; see the module comment.
 *
 * @example
 * const e = new Emitter<{ ping: [] }>();
 * e.once("ping", () => console.log("pong"));
 */
export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  #listeners = new Map<keyof Events, Listener[]>();

  /** Adds a listener. */
  on<K extends keyof Events>(type: K, fn: (...args: Events[K]) => void): this {
    const list = this.#listeners.get(type);
    if (list) list.push(fn);
    else this.#listeners.set(type, [fn]);
    return this;
  }

  /** Adds a listener called once. */
  once<K extends keyof Events>(type: K, fn: (...args: Events[K]) => void): this {
    const wrapper = (...args: Events[K]) => {
      this.off(type, wrapper);
      fn(...args);
    };
    return this.on(type, wrapper);
  }

  /** Removes a listener added with `on` (the first registration of it). */
  off<K extends keyof Events>(type: K, fn: (...args: Events[K]) => void): this {
    const list = this.#listeners.get(type);
    const i = list ? list.indexOf(fn) : -1;
    if (i >= 0) list!.splice(i, 1);
    return this;
  }

  /** Calls every listener of `type` with `args`, in registration order. */
  emit<K extends keyof Events>(type: K, ...args: Events[K]): void {
    const list = this.#listeners.get(type);
    if (list === undefined || list.length === 0) return;
    for (const fn of list.slice()) {
      try {
        fn(...args);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  /** How many listeners `type` has. */
  listenerCount(type: keyof Events): number {
    return this.#listeners.get(type)?.length ?? 0;
  }
}
