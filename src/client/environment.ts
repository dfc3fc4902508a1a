/**
 * What the page tells a connection (DESIGN §7): the browser's `online`/`offline` events
 * and the document's `visibilitychange`. In Node (no `window`, no `document`) nothing
 * is watched. Returns the function that stops watching, so a closed client leaves no
 * listener behind.
 *
 * @example
 * const stop = watchPage({ online: () => retryNow(), offline: () => dropNow(), visibility: (hidden) => {} });
 * stop();
 */

export interface PageEvents {
  /** The browser says the network is back. */
  online(): void;
  /** The browser says the network is gone. */
  offline(): void;
  /** The document was hidden (`true`) or shown again (`false`). */
  visibility(hidden: boolean): void;
}

interface Listenable {
  addEventListener(type: string, fn: () => void): void;
  removeEventListener(type: string, fn: () => void): void;
}

function listenable(x: unknown): x is Listenable {
  return typeof x === "object" && x !== null && typeof (x as Listenable).addEventListener === "function" && typeof (x as Listenable).removeEventListener === "function";
}

/**
 * Watches the page's network and visibility events, where there is a page.
 *
 * @example
 * const stop = watchPage(handlers); // a no-op in Node
 */
export function watchPage(events: PageEvents): () => void {
  const g = globalThis as unknown as { document?: { hidden?: boolean } & Partial<Listenable> };
  const offs: (() => void)[] = [];
  const on = (target: Listenable, type: string, fn: () => void) => {
    target.addEventListener(type, fn);
    offs.push(() => target.removeEventListener(type, fn));
  };
  if (listenable(globalThis)) {
    on(globalThis, "online", () => events.online());
    on(globalThis, "offline", () => events.offline());
  }
  const doc = g.document;
  if (listenable(doc)) on(doc, "visibilitychange", () => events.visibility(pageHidden()));
  return () => {
    for (const off of offs.splice(0)) off();
  };
}

/**
 * True when a page says it is hidden now (false in Node).
 *
 * @example
 * if (pageHidden()) pause();
 */
export function pageHidden(): boolean {
  const doc = (globalThis as unknown as { document?: { hidden?: boolean } }).document;
  return doc?.hidden === true;
}
