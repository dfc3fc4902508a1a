/**
 * Per-server health as a pure state machine (DESIGN §4 "Health"). No `node:*`, no
 * timers: every function takes the clock as `now` (ms, monotonic) and mutates a plain
 * {@link HealthRecord}. Plain data on purpose: the control plane can copy it to the
 * data-plane workers with `structuredClone`/`postMessage`.
 *
 * Three inputs meet here:
 * - **active checks** ({@link recordCheck}): `rise` consecutive passes bring a server up,
 *   `fall` consecutive failures take it down;
 * - **passive outlier detection** ({@link recordSuccess}, {@link recordFailure}): real
 *   traffic failing `consecutiveFailures` times in a row ejects the server for a while;
 * - **admin actions** ({@link drain}, {@link maintenance}, {@link enable}, {@link setWeight}).
 *
 * @example
 * const rec = createHealthRecord(now, { warm: true });
 * recordCheck(rec, false, undefined, { rise: 2, fall: 3 }, now); // still up (1 of 3)
 * isAvailable(rec, now); // true
 * effectiveWeight(rec, 10, 30_000, now); // 10
 */
import type { PassiveConfig } from "../../config/types.ts";

/**
 * What the dashboard and transitions show. An ejected server shows as `down`.
 *
 * @example
 * const s: HealthState = state(rec, now); // "up" | "down" | "draining" | "maintenance"
 */
export type HealthState = "up" | "down" | "draining" | "maintenance";

/**
 * Operator override: `enabled` lets the checks and ejections decide.
 *
 * @example
 * drain(rec, now);
 * rec.admin; // "draining"
 */
export type AdminState = "enabled" | "draining" | "maintenance";

/**
 * The active-check thresholds; `HealthConfig` satisfies it.
 *
 * @example
 * recordCheck(rec, ok, weight, backend.health, now); // HealthConfig as CheckThresholds
 */
export interface CheckThresholds {
  readonly rise: number;
  readonly fall: number;
}

/**
 * One server's live health. Plain, cloneable data; change it only through this
 * module's functions. Times are in the caller's clock (ms).
 *
 * @example
 * const rec = createHealthRecord(Date.now());
 * rec.checkUp; // true: HAProxy's choice, see createHealthRecord
 */
export interface HealthRecord {
  admin: AdminState;
  /** Verdict of the active checks (true without checks). */
  checkUp: boolean;
  /** Consecutive passing / failing active checks. */
  passes: number;
  fails: number;
  /** Consecutive passive (real traffic) failures. */
  failures: number;
  /** Ejection level: the next ejection lasts ejectTime × 2^ejections (capped). */
  ejections: number;
  /**
   * Ejected while `now < ejectedUntil`; `Infinity` = waiting for a passing check;
   * otherwise the end of the last ejection (`-Infinity`: never ejected).
   */
  ejectedUntil: number;
  /** Recovery "check": the earliest time a passing check may lift the ejection. */
  releaseAt: number;
  /** Slow start ramps from here (`-Infinity` = no ramp). */
  rampStart: number;
  /** `weight` reported by the last passing check (absolute 0–256), if any. */
  agentWeight: number | undefined;
  /** Operator weight (absolute 0–256) from {@link setWeight}; wins over the agent. */
  adminWeight: number | undefined;
  /** When the check verdict or the admin state last changed (dashboard "since"). */
  changedAt: number;
}

/**
 * Options for {@link createHealthRecord}.
 *
 * @example
 * const opts: NewRecordOptions = { warm: true }; // present at boot: no ramp
 */
export interface NewRecordOptions {
  /** Start down: checks must pass `rise` times first (a server not ready yet). */
  readonly down?: boolean;
  /** No slow-start ramp: servers present when the gateway starts (HAProxy does the same). */
  readonly warm?: boolean;
}

/**
 * Largest weight an agent or an operator may set (HAProxy's range).
 *
 * @example
 * setWeight(rec, MAX_WEIGHT); // ok; MAX_WEIGHT + 1 throws
 */
export const MAX_WEIGHT = 256;

/**
 * Slow start never goes below this share, so a ramping server still gets a trickle.
 *
 * @example
 * effectiveWeight(createHealthRecord(now), 10, 30_000, now); // 10 * MIN_RAMP = 0.1
 */
export const MIN_RAMP = 0.01;

/**
 * A fresh record. By default the server starts **up**, as in HAProxy: it takes `fall`
 * consecutive failed checks to take it down (chapter 002, pitfall 2: one failed check
 * must not flap a healthy server), while passive detection and connect retries cover
 * a server that is really dead in the meantime. A server added at runtime ramps up
 * (slow start) unless `warm`.
 *
 * @example
 * const atBoot = createHealthRecord(now, { warm: true });
 * const added = createHealthRecord(now);             // up, ramping from now
 * const unsure = createHealthRecord(now, { down: true }); // waits for `rise` passes
 */
export function createHealthRecord(now: number, opts: NewRecordOptions = {}): HealthRecord {
  return {
    admin: "enabled",
    checkUp: opts.down !== true,
    passes: 0,
    fails: 0,
    failures: 0,
    ejections: 0,
    ejectedUntil: -Infinity,
    releaseAt: 0,
    rampStart: opts.warm === true ? -Infinity : now,
    agentWeight: undefined,
    adminWeight: undefined,
    changedAt: now,
  };
}

/**
 * True when the server may take new requests: enabled, checks up, not ejected.
 * Data path: no allocation.
 *
 * @example
 * if (isAvailable(server.health, now)) candidates.push(server);
 */
export function isAvailable(rec: HealthRecord, now: number): boolean {
  return rec.admin === "enabled" && rec.checkUp && now >= rec.ejectedUntil;
}

/**
 * True while passive outlier detection keeps the server out.
 *
 * @example
 * isEjected(rec, now); // true for ejectTime after the 5th consecutive failure
 */
export function isEjected(rec: HealthRecord, now: number): boolean {
  return now < rec.ejectedUntil;
}

/**
 * The state to show: an admin override first, then `down` when the checks say so or
 * the server is ejected, else `up`.
 *
 * @example
 * drain(rec, now);
 * state(rec, now); // "draining"
 */
export function state(rec: HealthRecord, now: number): HealthState {
  if (rec.admin !== "enabled") return rec.admin;
  return rec.checkUp && now >= rec.ejectedUntil ? "up" : "down";
}

/**
 * Feeds one active-check result. A pass also records the agent `weight` it carried
 * (an absent or invalid weight clears it: the server went back to its configured
 * weight); a failure keeps the last one. With passive recovery "check", a pass at or
 * after the ejection's minimum time lifts the ejection.
 *
 * Returns true when the check verdict flipped or an ejection was lifted.
 *
 * @example
 * recordCheck(rec, true, 50, { rise: 2, fall: 3 }, now); // false: 1 of 2
 * recordCheck(rec, true, 50, { rise: 2, fall: 3 }, now); // true if it was down
 */
export function recordCheck(
  rec: HealthRecord,
  ok: boolean,
  weight: number | undefined,
  thresholds: CheckThresholds,
  now: number,
): boolean {
  let changed = false;
  if (ok) {
    rec.fails = 0;
    rec.passes++;
    rec.agentWeight = validWeight(weight) ? weight : undefined;
    if (!rec.checkUp && rec.passes >= thresholds.rise) {
      rec.checkUp = true;
      rec.changedAt = now;
      if (now >= rec.ejectedUntil) rec.rampStart = now;
      changed = true;
    }
    if (rec.ejectedUntil === Infinity && now >= rec.releaseAt) {
      rec.ejectedUntil = now;
      rec.failures = 0;
      if (rec.checkUp) rec.rampStart = now;
      changed = true;
    }
  } else {
    rec.passes = 0;
    rec.fails++;
    if (rec.checkUp && rec.fails >= thresholds.fall) {
      rec.checkUp = false;
      rec.changedAt = now;
      changed = true;
    }
  }
  return changed;
}

/**
 * A request or connection to the server succeeded: resets the passive failure streak.
 * Data path: no allocation.
 *
 * @example
 * res.on("finish", () => recordSuccess(server.health));
 */
export function recordSuccess(rec: HealthRecord): void {
  rec.failures = 0;
}

/**
 * A request or connection to the server failed (connect failure, timeout, or a 5xx when
 * `passive.on5xx`). At `consecutiveFailures` in a row the server is ejected for
 * `ejectTime × 2^(level)` capped at `maxEjectTime` — unless that would put more than
 * `maxEjectedPercent` of `backend` (the records of all the server's backend, `rec`
 * included) out at once; then it stays in and the next failure tries again.
 *
 * The level decays lazily: one step per `ejectTime` spent since the last ejection
 * ended, so a server that has behaved for a while starts again from `ejectTime`.
 *
 * With `recovery: "check"` the ejection lasts at least that long and ends only with a
 * passing active check ({@link recordCheck}): a backend without `health` would keep
 * the server out for good, so the config must not allow that pair.
 *
 * Returns true when this failure ejected the server. No allocation.
 *
 * @example
 * if (recordFailure(backend.records, server.health, cfg.passive, now)) log.warn("ejected");
 */
export function recordFailure(
  backend: readonly HealthRecord[],
  rec: HealthRecord,
  passive: PassiveConfig,
  now: number,
): boolean {
  if (now < rec.ejectedUntil) return false; // stragglers from before the ejection
  if (++rec.failures < passive.consecutiveFailures) return false;
  if (!ejectionAllowed(backend, passive.maxEjectedPercent, now)) return false;
  if (rec.ejections > 0 && passive.ejectTime > 0) {
    const steps = Math.floor((now - rec.ejectedUntil) / passive.ejectTime);
    rec.ejections = Math.max(0, rec.ejections - steps);
  }
  const duration = Math.min(passive.ejectTime * 2 ** rec.ejections, passive.maxEjectTime);
  // Stop climbing once the cap is reached, so decay is not a long walk back down.
  if (duration < passive.maxEjectTime) rec.ejections++;
  rec.failures = 0;
  if (passive.recovery === "check") {
    rec.ejectedUntil = Infinity;
    rec.releaseAt = now + duration;
  } else {
    rec.ejectedUntil = now + duration;
  }
  return true;
}

/**
 * The backend-level cap: may one more server be ejected without exceeding
 * `maxEjectedPercent` of `backend`? Ejected servers count; down ones do not (Envoy's
 * rule). A one-server backend under a cap below 100 is never ejected: ejecting it
 * would only turn errors into `503`s.
 *
 * @example
 * ejectionAllowed(records, 50, now); // false when 2 of 4 are already ejected
 */
export function ejectionAllowed(backend: readonly HealthRecord[], maxEjectedPercent: number, now: number): boolean {
  let ejected = 1; // the candidate
  for (let i = 0; i < backend.length; i++) if (now < backend[i]!.ejectedUntil) ejected++;
  return ejected * 100 <= maxEjectedPercent * backend.length;
}

/**
 * Operator: stop sending new requests; established tunnels stay (the gateway closes
 * them after `drainTimeout`). Checks keep running so {@link enable} lands on a fresh
 * verdict. Returns true when the state changed.
 *
 * @example
 * if (drain(rec, now)) emit("draining");
 */
export function drain(rec: HealthRecord, now: number): boolean {
  return setAdmin(rec, "draining", now);
}

/**
 * Operator: take the server out (no traffic at all). Returns true when the state changed.
 *
 * @example
 * maintenance(rec, now); // state(rec, now) === "maintenance"
 */
export function maintenance(rec: HealthRecord, now: number): boolean {
  return setAdmin(rec, "maintenance", now);
}

/**
 * Operator: lift `draining`/`maintenance`; the server returns to what the checks and
 * ejections say, ramping up again (slow start) when that is `up`. Returns true when
 * the state changed.
 *
 * @example
 * enable(rec, now); // "up" again, or "down" if the checks failed meanwhile
 */
export function enable(rec: HealthRecord, now: number): boolean {
  if (!setAdmin(rec, "enabled", now)) return false;
  if (isAvailable(rec, now)) rec.rampStart = now;
  return true;
}

/**
 * Operator weight, absolute 0–256 like HAProxy's `set weight`; it wins over the agent
 * weight and the configured one. `undefined` clears it. Returns true when it changed.
 *
 * @throws RangeError for anything but an integer in 0..256 (the admin API validates first).
 * @example
 * setWeight(rec, 0);         // keeps connections, takes no new ones (weight 0)
 * setWeight(rec, undefined); // back to agent/configured weight
 */
export function setWeight(rec: HealthRecord, weight: number | undefined): boolean {
  if (weight !== undefined && !validWeight(weight)) {
    throw new RangeError(`weight must be an integer in 0..${MAX_WEIGHT}, got ${weight}`);
  }
  if (rec.adminWeight === weight) return false;
  rec.adminWeight = weight;
  return true;
}

/**
 * The weight a policy sees (`ServerView.weight`): the operator weight, else the agent
 * weight, else `configuredWeight` — all absolute — times the slow-start ramp. The ramp
 * is linear over `slowStartMs` from the moment the server last became available
 * (came up, was added, was enabled, or its ejection ended), never below 1 %.
 * Data path: no allocation.
 *
 * @example
 * // slowStart 30s, came up 15s ago, configured 10, no agent:
 * effectiveWeight(rec, 10, 30_000, now); // 5
 */
export function effectiveWeight(rec: HealthRecord, configuredWeight: number, slowStartMs: number, now: number): number {
  const base = rec.adminWeight ?? rec.agentWeight ?? configuredWeight;
  if (slowStartMs <= 0 || base === 0) return base;
  // A timed ejection ends without an event: its end is a ramp start too.
  const start = rec.ejectedUntil <= now && rec.ejectedUntil > rec.rampStart ? rec.ejectedUntil : rec.rampStart;
  const elapsed = now - start;
  if (elapsed >= slowStartMs) return base;
  return base * Math.max(MIN_RAMP, elapsed / slowStartMs);
}

function setAdmin(rec: HealthRecord, to: AdminState, now: number): boolean {
  if (rec.admin === to) return false;
  rec.admin = to;
  rec.changedAt = now;
  return true;
}

function validWeight(w: number | undefined): w is number {
  return typeof w === "number" && Number.isInteger(w) && w >= 0 && w <= MAX_WEIGHT;
}
