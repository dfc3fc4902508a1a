// WebSocket echo backend (ws library). Usage: node ws-echo.ts PORT
// Copied from holdfast's shared benchmark anchors (anchors/servers/ws-echo.js), in TypeScript.
import { WebSocketServer } from "ws";

const port = Number(process.argv[2] ?? 9002);
const wss = new WebSocketServer({
  host: "127.0.0.1",
  port,
  backlog: 4096,
  perMessageDeflate: false,
  clientTracking: false,
});
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => {});
});
wss.on("listening", () => console.log(`ws-echo listening on 127.0.0.1:${port}`));
process.on("SIGTERM", () => process.exit(0));
