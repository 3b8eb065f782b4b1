import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { retryAfterMs } from "./limit";
import { Silence } from "./stream";

/**
 * Folio's one retry policy for model calls, in three layers that do not multiply for a silent endpoint:
 *
 * 1. A request refused for a passing reason (429, 408, 409, 5xx, connection refused or reset) is sent
 *    again by the client after a back-off — `retry-after` when the endpoint gives one, else a quarter of
 *    `FOLIO_RETRY_BASE_MS` (0.5 s by default) doubling up to 8 s — up to `FOLIO_LLM_MAX_RETRIES` times. The concurrency slot is given back while
 *    waiting, so other projects' calls go on.
 * 2. An answer that is unusable (invalid JSON, wrong shape, empty, cut mid-sentence, far too short) is
 *    asked again up to 3 times in all.
 * 3. A silent endpoint (nothing for `FOLIO_LLM_IDLE_TIMEOUT_MS`, or unfinished at `FOLIO_LLM_TIMEOUT_MS`)
 *    is not asked again by the client: the unit fails, and the scheduler's `FOLIO_UNIT_ATTEMPTS`
 *    (default 3) with its back-off (`FOLIO_RETRY_BASE_MS`, doubling) are the only repeats. A hanging
 *    endpoint therefore reaches needs-attention after at most FOLIO_UNIT_ATTEMPTS × the idle timeout
 *    plus those back-offs: with the defaults 3 × 60 s + 2 s + 4 s.
 *
 * Refusals, content filters, a rejected key, an unknown model, a refused request (400) and an
 * exhausted quota are not retried at any layer.
 */
export interface Failure {
  /** How `llm_calls` records the attempt. */
  outcome: string;
  detail: string;
  /** Milliseconds to wait before sending the request again; absent when it must not be sent again. */
  retryInMs?: number;
  /** A 429: the process-wide limit backs off too. */
  rateLimited?: boolean;
}

const MAX_BACKOFF_MS = 8_000;

/** The wait before sending a refused request again: a quarter of `FOLIO_RETRY_BASE_MS`, doubling. */
export function backoffMs(retry: number, baseMs: number): number {
  const full = Math.min(MAX_BACKOFF_MS, (baseMs / 4) * 2 ** retry);
  return Math.round(full * (0.75 + Math.random() * 0.25));
}

/** What went wrong with one request, and whether (and when) the client sends it again. */
export function failureOf(
  error: unknown,
  retry: number,
  policy: { maxRetries: number; baseMs: number; cancelled: boolean },
): Failure {
  const { maxRetries, cancelled } = policy;
  const backoff = () => backoffMs(retry, policy.baseMs);
  const detail = String(error instanceof Error ? error.message : error).slice(0, 500);
  const again = (ms: number) => (retry < maxRetries ? ms : undefined);
  if (cancelled || error instanceof APIUserAbortError) return { outcome: "aborted", detail };
  if (error instanceof Silence || error instanceof APIConnectionTimeoutError)
    return { outcome: "timeout", detail };
  if (error instanceof APIConnectionError) return { outcome: "network", detail, retryInMs: again(backoff()) };
  // A stream cut off mid-answer surfaces as the body read failing ("terminated"): the connection broke.
  if (!(error instanceof APIError)) return { outcome: "network", detail, retryInMs: again(backoff()) };
  const outcome = `http_${error.status ?? "error"}`;
  const status = error.status ?? 0;
  if (status === 429) {
    if (error.code === "insufficient_quota") return { outcome, detail };
    const wait = retryAfterMs(error.headers) ?? backoff();
    return { outcome, detail, retryInMs: again(wait), rateLimited: true };
  }
  if (status === 408 || status === 409 || status >= 500 || status === 0)
    return { outcome, detail, retryInMs: again(backoff()) };
  return { outcome, detail };
}
