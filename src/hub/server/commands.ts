/**
 * Reading what a client sends: JSON text → a typed {@link ClientMessage}, or the error
 * to answer (`bad_request`, `unknown_command`) with the command's `id` when one could be
 * read. Never throws on input. Unknown extra fields are ignored (a newer client may
 * send more).
 *
 * @example
 * const r = parseClientMessage('{"id":3,"type":"subscribe","channel":"chat:1"}');
 * if (r.ok) handle(r.msg); else reply({ id: r.id, type: "error", code: r.code, message: r.message });
 */
import { HubErrorCode, type ClientMessage, type StreamPosition } from "../../protocol/hub.ts";

/** The outcome of reading one message. */
export type ReadResult =
  | { readonly ok: true; readonly msg: ClientMessage }
  | {
      readonly ok: false;
      readonly id: number | undefined;
      readonly code: typeof HubErrorCode.BAD_REQUEST | typeof HubErrorCode.UNKNOWN_COMMAND;
      readonly message: string;
    };

/** The longest `idempotencyKey` accepted. */
export const MAX_IDEMPOTENCY_KEY = 256;

type Obj = Record<string, unknown>;

class Bad extends Error {}

const isId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;

function need(o: Obj, key: string, type: "string"): string {
  const v = o[key];
  if (typeof v !== type) throw new Bad(v === undefined ? `missing field ${key} (a ${type})` : `field ${key} must be a ${type}`);
  return v as string;
}

function optString(o: Obj, key: string, max = Infinity): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new Bad(`field ${key} must be a string`);
  if (v.length > max) throw new Bad(`field ${key} is longer than ${max} characters`);
  return v;
}

function optSince(o: Obj): StreamPosition | undefined {
  const v = o.since;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw new Bad("field since must be {offset, epoch}");
  const s = v as Obj;
  if (typeof s.offset !== "number" || !Number.isSafeInteger(s.offset) || s.offset < 0) throw new Bad("since.offset must be an integer >= 0");
  if (typeof s.epoch !== "string") throw new Bad("since.epoch must be a string");
  return { offset: s.offset, epoch: s.epoch };
}

/**
 * Reads one parsed JSON value as a client message (see {@link parseClientMessage}).
 *
 * @example
 * readClientMessage({ type: "pong" }); // { ok: true, msg: { type: "pong" } }
 */
export function readClientMessage(value: unknown): ReadResult {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, id: undefined, code: HubErrorCode.BAD_REQUEST, message: "a message must be a JSON object" };
  }
  const o = value as Obj;
  const type = o.type;
  if (type === "pong") return { ok: true, msg: { type: "pong" } };
  const id = isId(o.id) ? o.id : undefined;
  if (typeof type !== "string") return { ok: false, id, code: HubErrorCode.BAD_REQUEST, message: "missing field type (a string)" };
  if (id === undefined) {
    return { ok: false, id: undefined, code: HubErrorCode.BAD_REQUEST, message: `a ${JSON.stringify(type.slice(0, 64))} command needs an id (a positive integer)` };
  }
  try {
    switch (type) {
      case "connect":
        return { ok: true, msg: { id, type, token: optString(o, "token"), name: optString(o, "name", 200) } };
      case "subscribe":
        return { ok: true, msg: { id, type, channel: need(o, "channel", "string"), since: optSince(o) } };
      case "unsubscribe":
        return { ok: true, msg: { id, type, channel: need(o, "channel", "string") } };
      case "publish":
        if (!("data" in o)) throw new Bad("missing field data");
        return {
          ok: true,
          msg: { id, type, channel: need(o, "channel", "string"), data: o.data, idempotencyKey: optString(o, "idempotencyKey", MAX_IDEMPOTENCY_KEY) },
        };
      case "presence":
        return { ok: true, msg: { id, type, channel: need(o, "channel", "string") } };
      case "history": {
        const limit = o.limit;
        if (limit !== undefined && (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 0)) {
          throw new Bad("field limit must be an integer >= 0");
        }
        return { ok: true, msg: { id, type, channel: need(o, "channel", "string"), since: optSince(o), limit } };
      }
      case "refresh":
        return { ok: true, msg: { id, type, token: need(o, "token", "string") } };
      default:
        return { ok: false, id, code: HubErrorCode.UNKNOWN_COMMAND, message: `unknown command type ${JSON.stringify(type.slice(0, 64))}` };
    }
  } catch (e) {
    if (e instanceof Bad) return { ok: false, id, code: HubErrorCode.BAD_REQUEST, message: e.message };
    throw e;
  }
}

/**
 * Parses one message's text (a WebSocket frame).
 *
 * @example
 * parseClientMessage("{oops"); // { ok: false, id: undefined, code: "bad_request", message: "malformed JSON: ..." }
 */
export function parseClientMessage(text: string): ReadResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, id: undefined, code: HubErrorCode.BAD_REQUEST, message: `malformed JSON: ${(e as Error).message}` };
  }
  return readClientMessage(value);
}
