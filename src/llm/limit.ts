// Over 300 lines: the slots, the endpoint's allowance and the fair queue that hands them out are one
// piece of state; splitting them would only pass that state around.
/**
 * How many model requests may be in flight at once, process-wide, adapted to what the endpoint says:
 * a 429 halves the limit and holds every new request until its `retry-after` has passed; the
 * `x-ratelimit-remaining-*` headers of each answer say how many more requests the endpoint takes
 * before `x-ratelimit-reset-*`, and no more than that start; a run of answered requests raises the
 * limit again by one, up to the ceiling (`FOLIO_LLM_CONCURRENCY`). A low-tier key then spends its time
 * writing, not collecting 429s.
 */
/** Whose request waits for a slot: the author and the project it is for (none for a test's own calls). */
export interface Claimant {
  owner?: string;
  project?: number | null;
  /**
   * The piece of work the request belongs to (a stage, or one scene of it): the requests after a unit's
   * first keep the place the first was served from, so a scene once begun is finished before the
   * author's next turn comes round.
   */
  unit?: string;
}

const NO_PROJECT = Number.MAX_SAFE_INTEGER;
/** Authors whose last slot is remembered, for the order of the next ones. */
const MAX_AUTHORS_REMEMBERED = 10_000;

interface Waiter {
  go: () => void;
  owner: string;
  unit: string | undefined;
  /** The project's id: an author's older novel goes first. */
  order: number;
  seq: number;
}

export class AdaptiveLimit {
  private current: number;
  private active = 0;
  /** Requests waiting for a slot, served fairly (see `pick`). */
  private readonly waiting: Waiter[] = [];
  private arrivals = 0;
  private served = 0;
  /** When each author last got a slot, in slots handed out, and the unit of theirs being served. */
  private readonly lastServed = new Map<string, Turn>();
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Answered requests since the limit last changed. */
  private calm = 0;
  /** Requests started whose answer (and its headers) has not come yet. */
  private unheard = 0;
  /** Requests the endpoint said it will still take before its window resets. */
  private allowance: { remaining: number; resetAt: number; limit?: number; windowMs: number } | undefined;

  constructor(readonly ceiling: number) {
    this.current = ceiling;
  }

  /** Told, at once, of each request that has to wait for a slot (the scheduler says so to its author). */
  private readonly waitListeners = new Set<(who: Claimant) => void>();

  /** Calls `listener` with each request that has to wait for a slot; the returned function stops it. */
  onWait(listener: (who: Claimant) => void): () => void {
    this.waitListeners.add(listener);
    return () => this.waitListeners.delete(listener);
  }

  /** Requests allowed in flight now. */
  get limit(): number {
    return this.current;
  }

  /** Requests waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Slot-milliseconds used so far: the time integral of requests in flight (for how full the slots are kept). */
  get slotMs(): number {
    return this.usedMs + this.active * (performance.now() - this.changedAt);
  }

  private usedMs = 0;
  private changedAt = performance.now();

  private count(delta: number): void {
    const now = performance.now();
    this.usedMs += this.active * (now - this.changedAt);
    this.changedAt = now;
    this.active += delta;
  }

  /**
   * Waits for a free slot (or the caller's abort); the returned function gives it back, once. Slots go
   * round the authors waiting; an author's turn goes to their oldest novel waiting, then in order of
   * asking. One author's three novels get no more than another author's one, and the first of them
   * moves as fast as anyone's.
   */
  async acquire(signal?: AbortSignal, who: Claimant = {}): Promise<Slot> {
    signal?.throwIfAborted();
    const owner = `o:${who.owner ?? ""}`;
    // An author seen for the first time ranks as served now: behind authors who have waited longer
    // since their last slot, level with those arriving with them.
    if (!this.lastServed.has(owner))
      this.lastServed.set(owner, { tick: this.served, unit: undefined, since: 0 });
    if (this.canStart()) {
      this.take();
      this.mark(owner, who.unit);
    } else {
      // `next` counts the slot as taken when it hands it over.
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          go: () => {
            signal?.removeEventListener("abort", abort);
            resolve();
          },
          owner,
          unit: who.unit,
          order: who.project ?? NO_PROJECT,
          seq: this.arrivals++,
        };
        const abort = () => {
          const at = this.waiting.indexOf(waiter);
          if (at >= 0) this.waiting.splice(at, 1);
          reject(signal?.reason ?? new Error("aborted"));
        };
        signal?.addEventListener("abort", abort, { once: true });
        this.waiting.push(waiter);
        this.next();
        if (this.waitListeners.size > 0 && this.waiting.includes(waiter))
          for (const listener of this.waitListeners) {
            // A listener's failure is its own: the request keeps its place.
            try {
              listener(who);
            } catch {}
          }
      });
    }
    let heard = false;
    let released = false;
    const startedAt = performance.now();
    const hear = () => {
      if (heard) return;
      heard = true;
      this.unheard--;
    };
    return Object.assign(
      () => {
        if (released) return;
        released = true;
        hear();
        this.timed(performance.now() - startedAt);
        this.count(-1);
        this.next();
      },
      {
        answered: (allowance: Allowance | null) => {
          hear();
          this.answered(allowance);
        },
      },
    );
  }

  /** A 429: fewer requests at once, and none at all until the endpoint's wait is over. */
  rateLimited(waitMs: number): void {
    this.current = Math.max(1, Math.floor(this.current / 2));
    this.calm = 0;
    this.pause(waitMs);
  }

  /**
   * An answered request, with the allowance the endpoint reports left (null when it reports none):
   * no more requests start before the reset than it says it will take.
   */
  answered(allowance: Allowance | null): void {
    if (allowance) {
      // Requests sent but not yet answered may have reached the endpoint after it counted: they are
      // taken off what it says is left, so a burst does not overrun the allowance.
      const { resetMs, limit } = allowance;
      const remaining = allowance.remaining - this.unheard;
      this.allowance = { remaining, resetAt: Date.now() + resetMs, limit, windowMs: Math.max(resetMs, 100) };
      this.next();
    }
    if (this.current < this.ceiling && ++this.calm >= this.current * 2) {
      this.current++;
      this.calm = 0;
      this.next();
    }
  }

  /** Counts a request as started, against the slots and the endpoint's allowance. */
  private take(): void {
    this.count(1);
    this.unheard++;
    if (this.allowance) this.allowance.remaining--;
  }

  /** Milliseconds until a request may start as far as time goes (a 429's wait, a spent allowance). */
  private blockedFor(): number {
    const now = Date.now();
    let wait = Math.max(0, this.pausedUntil - now);
    const allowance = this.allowance;
    if (allowance && now >= allowance.resetAt) {
      // A new window: the whole allowance again, counted down until the next answer says where it is
      // (or, if none comes, until a window's length has passed).
      const { limit, windowMs } = allowance;
      this.allowance =
        limit === undefined ? undefined : { remaining: limit, resetAt: now + windowMs, limit, windowMs };
    } else if (allowance && allowance.remaining <= 0) wait = Math.max(wait, allowance.resetAt - now);
    return wait;
  }

  private pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + Math.max(0, ms));
    this.next();
  }

  private canStart(): boolean {
    return this.waiting.length === 0 && this.active < this.current && this.blockedFor() === 0;
  }

  /**
   * Hands free slots to waiting callers in order; when time holds them back, looks again once it has
   * passed (timers may fire a little early, so `next` simply runs again and re-checks).
   */
  private next(): void {
    while (this.waiting.length > 0 && this.active < this.current) {
      const wait = this.blockedFor();
      if (wait > 0) {
        if (!this.timer) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.next();
          }, wait + 1);
          this.timer.unref();
        }
        return;
      }
      const waiter = this.pick();
      this.take();
      this.mark(waiter.owner, waiter.unit);
      waiter.go();
    }
  }

  /**
   * A waiting request's place in the round: when its author was last served, or, for the next request of
   * the unit being served, the place that unit's first request was served from.
   */
  private rank(w: Waiter): number {
    const turn = this.lastServed.get(w.owner);
    if (!turn) return -1;
    return w.unit !== undefined && w.unit === turn.unit ? turn.since : turn.tick;
  }

  /** The waiter ranked first; of equals, the oldest novel's earliest request. */
  private pick(): Waiter {
    const waiting = this.waiting;
    let best = 0;
    for (let i = 1; i < waiting.length; i++) {
      const [a, b] = [waiting[i]!, waiting[best]!];
      if ((this.rank(a) - this.rank(b) || a.order - b.order || a.seq - b.seq) < 0) best = i;
    }
    return waiting.splice(best, 1)[0]!;
  }

  /**
   * Each project with a request waiting, and how many other projects' requests will be served before
   * its first one, the slots handed out as they are now.
   */
  positions(extra: Waiter[] = []): Map<number, number> {
    // The order `pick` hands slots out in, computed at once: round after round, the authors in the
    // order they were last served (a newcomer as on arrival), each giving its next request — its
    // oldest novel's earliest first.
    const byOwner = new Map<string, Waiter[]>();
    for (const w of [...this.waiting, ...extra]) {
      const list = byOwner.get(w.owner);
      if (list) list.push(w);
      else byOwner.set(w.owner, [w]);
    }
    const precedes = (a: Waiter, b: Waiter) =>
      this.rank(a) - this.rank(b) || a.order - b.order || a.seq - b.seq;
    for (const list of byOwner.values()) list.sort(precedes);
    const head = (owner: string) => byOwner.get(owner)![0]!;
    const owners = [...byOwner.keys()].sort((a, b) => precedes(head(a), head(b)));
    const ahead = new Map<number, number>();
    const before = new Set<number>();
    const rounds = Math.max(...[...byOwner.values()].map((l) => l.length), 0);
    for (let round = 0; round < rounds; round++) {
      for (const owner of owners) {
        const next = byOwner.get(owner)![round];
        if (!next || next.order === NO_PROJECT) continue;
        if (!ahead.has(next.order)) ahead.set(next.order, before.size);
        before.add(next.order);
      }
    }
    return ahead;
  }

  /** How many projects a request for this project would wait behind if it asked now (0: it starts at once). */
  positionFor(who: Claimant): number {
    if (this.canStart()) return 0;
    const order = who.project ?? NO_PROJECT;
    const probe: Waiter = {
      go: () => {},
      owner: `o:${who.owner ?? ""}`,
      unit: who.unit,
      order,
      seq: this.arrivals,
    };
    return this.positions([probe]).get(order) ?? 0;
  }

  /** About how long until a request `ahead` places back in the queue starts, from recent requests' times. */
  etaMs(ahead: number): number | null {
    if (this.meanMs === undefined) return null;
    return Math.round(this.meanMs * Math.ceil((ahead + 1) / Math.max(1, this.current)));
  }

  /** Recent requests' time in flight, smoothed. */
  private meanMs: number | undefined;

  private timed(ms: number): void {
    this.meanMs = this.meanMs === undefined ? ms : this.meanMs * 0.8 + ms * 0.2;
  }

  private mark(owner: string, unit: string | undefined): void {
    this.served++;
    const turn = this.lastServed.get(owner);
    // A unit's first request: the place it was served from is the one its next requests keep. A request
    // that is no unit's step (another of the author's novels being planned) leaves that place be.
    const begins = unit !== undefined && unit !== turn?.unit;
    const kept = begins
      ? { unit, since: turn?.tick ?? this.served }
      : { unit: turn?.unit, since: turn?.since ?? 0 };
    // Kept in order of service: the map's first entries are the authors served longest ago.
    this.lastServed.delete(owner);
    this.lastServed.set(owner, { tick: this.served, ...kept });
    // Bounded: the authors served longest ago and with nothing waiting are forgotten first (one coming
    // back after a gate is then placed as a newcomer).
    if (this.lastServed.size > MAX_AUTHORS_REMEMBERED) {
      const waitingOwners = new Set(this.waiting.map((w) => w.owner));
      for (const key of this.lastServed.keys()) {
        if (this.lastServed.size <= MAX_AUTHORS_REMEMBERED / 2) break;
        if (!waitingOwners.has(key)) this.lastServed.delete(key);
      }
    }
  }
}

/** An author's place in the round of slots. */
interface Turn {
  /** Slots handed out when the author was last served. */
  tick: number;
  /** The unit of theirs last served, and the place its first request was served from. */
  unit: string | undefined;
  since: number;
}

/**
 * The request allowance OpenAI reports on every response: `x-ratelimit-remaining-requests`, its
 * `x-ratelimit-limit-requests`, and `x-ratelimit-reset-requests` as a duration like `1s`, `6m0s` or
 * `120ms`.
 */
export function allowanceOf(headers: Headers): Allowance | null {
  // Tokens are counted per request only roughly here: the request allowance is what gates starts.
  const remaining = Number.parseInt(headers.get("x-ratelimit-remaining-requests") ?? "", 10);
  if (!Number.isFinite(remaining)) return null;
  const resetMs = durationMs(headers.get("x-ratelimit-reset-requests") ?? "") ?? 1_000;
  const limit = Number.parseInt(headers.get("x-ratelimit-limit-requests") ?? "", 10);
  return { remaining, resetMs, ...(Number.isFinite(limit) ? { limit } : {}) };
}

/** A request's place: call it to give the place back; `answered` passes on the answer's allowance. */
export type Slot = (() => void) & { answered(allowance: Allowance | null): void };

export interface Allowance {
  /** Requests the endpoint still takes in this window. */
  remaining: number;
  /** Until the window resets. */
  resetMs: number;
  /** Requests per window, when the endpoint says. */
  limit?: number;
}

/** How long a 429 asks to wait: `retry-after-ms`, else `retry-after` in seconds (or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number.parseFloat(headers.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const after = headers.get("retry-after");
  if (!after) return undefined;
  const seconds = Number.parseFloat(after);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

function durationMs(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
  return parts.reduce((sum, [, n, u]) => sum + Number.parseFloat(n!) * unit[u as keyof typeof unit], 0);
}
