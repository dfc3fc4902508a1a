// Socket.IO 4 with @socket.io/redis-adapter, the comparison of the hub benchmark
// (bench/hub.ts): rooms are channels; a client joins one with
// emit("subscribe", room, ack). WebSocket transport only, no compression, the
// defaults otherwise. Usage: node socketio-hub.ts PORT REDIS_URL KEY
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";

const [port, url, key] = [Number(process.argv[2]), process.argv[3]!, process.argv[4] ?? "hfbench"];
const pub = createClient({ url });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);
const http = createServer();
const io = new Server(http, { adapter: createAdapter(pub, sub, { key }), transports: ["websocket"], perMessageDeflate: false, serveClient: false });
io.on("connection", (socket) => {
  socket.on("subscribe", (room: string, ack?: () => void) => {
    void socket.join(room);
    ack?.();
  });
});
http.listen(port, "127.0.0.1", () => console.log(`socket.io on ${port}`));
const stop = () => {
  io.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
