import type { Socket } from "node:net";

/**
 * Socket events are dispatched to a handler object stored on the socket, through
 * listeners shared by every socket: no closure per connection, and a socket changes
 * owner (HTTP session → tunnel, upstream pool → session) by one assignment.
 *
 * @example
 * const s = attach(net.connect(port), session);
 * s.handler = tunnel; // from now on the tunnel gets the events
 */
export interface SocketHandler {
  onData(s: HandledSocket, chunk: Buffer): void;
  onEnd(s: HandledSocket): void;
  onClose(s: HandledSocket): void;
  onDrain(s: HandledSocket): void;
  onError(s: HandledSocket, err: Error): void;
}

/** A socket whose events go to `handler` (see {@link attach}). */
export interface HandledSocket extends Socket {
  /** Gets the socket's events; reassigned when the socket changes owner. */
  handler: SocketHandler;
}

function onData(this: HandledSocket, chunk: Buffer): void {
  this.handler.onData(this, chunk);
}
function onEnd(this: HandledSocket): void {
  this.handler.onEnd(this);
}
function onClose(this: HandledSocket): void {
  this.handler.onClose(this);
}
function onDrain(this: HandledSocket): void {
  this.handler.onDrain(this);
}
function onError(this: HandledSocket, err: Error): void {
  this.handler.onError(this, err);
}

/** Installs the shared listeners and the first handler. */
export function attach(socket: Socket, handler: SocketHandler): HandledSocket {
  const s = socket as HandledSocket;
  s.handler = handler;
  s.on("data", onData);
  s.on("end", onEnd);
  s.on("close", onClose);
  s.on("drain", onDrain);
  s.on("error", onError);
  return s;
}

/** Removes the shared listeners (another stream, a TLS socket, takes the connection over). */
export function detach(socket: HandledSocket): void {
  socket.off("data", onData);
  socket.off("end", onEnd);
  socket.off("close", onClose);
  socket.off("drain", onDrain);
  socket.off("error", onError);
  socket.pause();
}

/**
 * The handler of a socket nobody owns yet or any more (accepted, not yet handed on, or
 * being torn down): any input destroys it.
 */
export const destroyOnInput: SocketHandler = {
  onData(s) {
    s.destroy();
  },
  onEnd(s) {
    s.destroy();
  },
  onClose() {},
  onDrain() {},
  onError() {},
};

/**
 * The handler of a socket answered with an error and closing: its input is read and
 * dropped, and its end is answered with ours.
 */
export const dropInput: SocketHandler = {
  onData() {},
  onEnd(s) {
    s.end();
  },
  onClose() {},
  onDrain() {},
  onError() {},
};
