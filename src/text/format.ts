/** Durations as people read them: 42s, 3m 05s, 1h 20m; "—" when unknown. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "—";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** A whole number with thousands separators, as en-US writes it: 60,000. */
export function thousands(n: number): string {
  const whole = Math.round(n);
  const digits = String(Math.abs(whole)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return whole < 0 ? `-${digits}` : digits;
}

/** Where a project stands in the queue for the model: "Queued — 5 novels ahead; about 12m 00s". */
export function queueLine(ahead: number, etaMs: number | null): string {
  const who = ahead === 0 ? "next in line" : `${ahead} novel${ahead === 1 ? "" : "s"} ahead`;
  return `Queued — ${who}${etaMs === null ? "" : `; about ${formatDuration(etaMs)}`}`;
}
