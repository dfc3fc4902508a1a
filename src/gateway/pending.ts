import type { Socket } from "node:net";

/**
 * Connections no session owns yet: reading a PROXY header, in the TLS handshake,
 * sniffing for the HTTP/2 preface. Only this registry knows them, so that an
 * immediate stop can close them (the listener's `close()` waits for every connection).
 * One shared `close` listener: no closure per connection.
 *
 * @example
 * pending.hold(socket);   // while the TLS handshake runs
 * pending.settle(socket); // a session owns it now
 */
export class PendingSockets {
  readonly #set = new Set<Socket>();
  readonly #closed: (this: Socket) => void;

  constructor() {
    const set = this.#set;
    this.#closed = function (this: Socket) {
      set.delete(this);
    };
  }

  hold(socket: Socket): void {
    if (this.#set.has(socket)) return;
    this.#set.add(socket);
    socket.once("close", this.#closed);
  }

  settle(socket: Socket): void {
    if (!this.#set.delete(socket)) return;
    socket.off("close", this.#closed);
  }

  destroyAll(): void {
    for (const s of this.#set) s.destroy();
    this.#set.clear();
  }
}
