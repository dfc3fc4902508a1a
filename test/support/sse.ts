// An SSE backend for the tests of event streams through the gateway (drains, stops).
import { httpBackend } from "./backends.ts";

/**
 * An SSE server. `/tick`: an event every 50 ms, written in two halves 20 ms apart, so
 * the stream is often inside an event; `/quiet`: one event, then silence (it rests at a
 * boundary); `/half`: one event and the first line of the next, which `finishHalf()`
 * completes. Events are `data: <name>` with an id; `Last-Event-ID` resumes the ids.
 */
export async function sseBackend(name: string) {
  const lastIds: (string | undefined)[] = [];
  let finish: (() => void) | undefined;
  const be = await httpBackend(name, (req, res) => {
    const last = req.headers["last-event-id"] as string | undefined;
    lastIds.push(last);
    let n = last === undefined ? 0 : Number(last) + 1;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-served-by": name });
    if (req.url === "/quiet") return void res.write(`data: ${name}\nid: ${n}\n\n`);
    if (req.url === "/half") {
      res.write(`data: ${name}\nid: ${n++}\n\ndata: ${name}\n`);
      finish = () => {
        res.write(`id: ${n++}\n\n`);
        setTimeout(() => res.writableEnded || res.write(`data: late\nid: ${n++}\n\n`), 300);
      };
      return;
    }
    // One chain of timers, so an event's halves never interleave with the next event's
    // (an interval beside a timeout can fire out of order on a loaded machine).
    let t: ReturnType<typeof setTimeout>;
    const first = () => {
      res.write(`data: ${name}\n`);
      t = setTimeout(second, 20);
    };
    const second = () => {
      res.write(`id: ${n++}\n\n`);
      t = setTimeout(first, 30);
    };
    t = setTimeout(first, 30);
    res.on("close", () => clearTimeout(t));
  });
  return Object.assign(be, { name, lastIds, finishHalf: () => finish!() });
}
