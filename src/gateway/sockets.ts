import type { Socket } from "node:net";

/**
 * Socket events are dispatched to a handler object stored on the socket, through
 * listeners shared by every socket: no closure per connection, and a socket changes
 * owner (HTTP session → tunnel, upstream pool → session) by one assignment.
 *
 * @example
 * const s = attach(net.connect(port), session);
 * s.hf = tunnel; // from now on the tunnel gets the events
 */
export interface SocketHandler {
  onData(s: HfSocket, chunk: Buffer): void;
  onEnd(s: HfSocket): void;
  onClose(s: HfSocket): void;
  onDrain(s: HfSocket): void;
  onError(s: HfSocket, err: Error): void;
}

export interface HfSocket extends Socket {
  hf: SocketHandler;
}

function onData(this: HfSocket, chunk: Buffer): void {
  this.hf.onData(this, chunk);
}
function onEnd(this: HfSocket): void {
  this.hf.onEnd(this);
}
function onClose(this: HfSocket): void {
  this.hf.onClose(this);
}
function onDrain(this: HfSocket): void {
  this.hf.onDrain(this);
}
function onError(this: HfSocket, err: Error): void {
  this.hf.onError(this, err);
}

/** Installs the shared listeners and the first handler. */
export function attach(socket: Socket, handler: SocketHandler): HfSocket {
  const s = socket as HfSocket;
  s.hf = handler;
  s.on("data", onData);
  s.on("end", onEnd);
  s.on("close", onClose);
  s.on("drain", onDrain);
  s.on("error", onError);
  return s;
}

/** Removes the shared listeners (another stream, a TLS socket, takes the connection over). */
export function detach(socket: HfSocket): void {
  socket.off("data", onData);
  socket.off("end", onEnd);
  socket.off("close", onClose);
  socket.off("drain", onDrain);
  socket.off("error", onError);
  socket.pause();
}

/** A handler that owns nothing: used for sockets being torn down. */
export const discard: SocketHandler = {
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

/** A handler that drops incoming bytes: a socket answered with an error, closing. */
export const ignore: SocketHandler = {
  onData() {},
  onEnd(s) {
    s.end();
  },
  onClose() {},
  onDrain() {},
  onError() {},
};
