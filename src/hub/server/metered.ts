/**
 * A {@link Broker} that times every call and counts failures into {@link HubStats}
 * (`holdfast_hub_broker_*`), then hands on to the real one.
 *
 * @example
 * const broker = meterBroker(createBroker(cfg), stats);
 */
import type { Broker } from "../broker/types.ts";
import type { BrokerOp, HubStats } from "./stats.ts";

/**
 * Wraps `broker` with timing and error counting.
 *
 * @example
 * const b = meterBroker(inner, stats);
 * await b.publish("chat:1", opts); // stats.brokerLatency.get("publish") has one more sample
 */
export function meterBroker(broker: Broker, stats: HubStats): Broker {
  const timed = <T>(op: BrokerOp, run: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const hist = stats.brokerLatency.get(op)!;
    return run().then(
      (v) => {
        hist.observe((performance.now() - start) / 1000);
        return v;
      },
      (e: unknown) => {
        hist.observe((performance.now() - start) / 1000);
        stats.brokerError(op);
        throw e;
      },
    );
  };
  return {
    get type() {
      return broker.type;
    },
    get up() {
      return broker.up;
    },
    start: (events) => broker.start(events),
    subscribe: (ch) => timed("subscribe", () => broker.subscribe(ch)),
    unsubscribe: (ch) => timed("unsubscribe", () => broker.unsubscribe(ch)),
    publish: (ch, opts) => timed("publish", () => broker.publish(ch, opts)),
    history: (ch, q) => timed("history", () => broker.history(ch, q)),
    join: (ch, who, ttl) => timed("join", () => broker.join(ch, who, ttl)),
    leave: (ch, who) => timed("leave", () => broker.leave(ch, who)),
    touch: (ch, clients, ttl) => timed("touch", () => broker.touch(ch, clients, ttl)),
    presence: (ch) => timed("presence", () => broker.presence(ch)),
    close: () => broker.close(),
  };
}
