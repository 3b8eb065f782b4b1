/** Milliseconds with at least one call outstanding: how well the scheduler keeps the endpoint busy. */
export class BusyClock {
  private inFlight = 0;
  private since = 0;
  private total = 0;

  begin(): void {
    if (this.inFlight++ === 0) this.since = performance.now();
  }

  end(): void {
    if (--this.inFlight === 0) this.total += performance.now() - this.since;
  }

  /** Milliseconds with at least one request in flight so far. */
  get busyMs(): number {
    return this.total + (this.inFlight > 0 ? performance.now() - this.since : 0);
  }
}

/**
 * The SDK adds an abort listener to the signal it is given and never removes it; a project's signal
 * lives for hundreds of calls, so each call gets its own child signal, unlinked when the call ends.
 */
export async function withLinkedSignal<T>(
  parent: AbortSignal | undefined,
  run: (signal: AbortSignal) => Promise<T>,
) {
  const child = new AbortController();
  const forward = () => child.abort(parent?.reason);
  if (parent?.aborted) forward();
  parent?.addEventListener("abort", forward, { once: true });
  try {
    return await run(child.signal);
  } finally {
    parent?.removeEventListener("abort", forward);
  }
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}
