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
