/**
 * Every default of the hub's config (DESIGN §6), in one place; durations in ms, sizes
 * in bytes. `docs/hub.md` lists the same values (a test checks it).
 *
 * @example
 * HUB_DEFAULTS.ping.interval; // 25_000
 */
export const HUB_DEFAULTS = {
  listen: { host: "0.0.0.0", port: 7000 },
  ping: { interval: 25_000, timeout: 10_000 },
  sendQueue: { maxBytes: 1_048_576, onOverflow: "close" },
  shutdown: { spread: 10_000 },
  limits: { maxMessageBytes: 65_536, maxSubscriptions: 128, maxConnections: 0 },
  presence: { ttl: 30_000 },
  admin: { listen: { host: "127.0.0.1", port: 9901 } },
  /** When `channels` is absent: every channel, 100 publications kept for 5 minutes. */
  channels: [{ match: "*", history: { size: 100, ttlMs: 300_000 }, presence: false, clientPublish: false, anonymous: false }],
  /** HS256 keys shorter than this are refused (RFC 7518 §3.2: at least the hash size). */
  minSecretLength: 32,
} as const;
