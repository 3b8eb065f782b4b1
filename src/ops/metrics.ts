import { Counter, Gauge, Registry } from "prom-client";

/** What one model call cost, as `llm_calls` records it. */
export interface CallFigures {
  outcome: string;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  costUsd: number;
}

/**
 * The process's Prometheus metrics, in a registry of its own (so two engines in one process, as in
 * tests, do not share counters). Counters count since the process started; gauges are read when
 * scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly units = this.counter(
    "folio_units_total",
    "Units of work run, by outcome (ok, or failed: an attempt that threw).",
    ["outcome"],
  );
  private readonly calls = this.counter(
    "folio_model_calls_total",
    "Model call attempts, by outcome (ok, 429, timeout, …), as recorded in llm_calls.",
    ["outcome"],
  );
  private readonly tokens = this.counter(
    "folio_model_tokens_total",
    "Model tokens, by kind: prompt (cached included), cached, completion.",
    ["kind"],
  );
  private readonly cost = this.counter(
    "folio_model_cost_usd_total",
    "Estimated model cost in US dollars, at the configured prices.",
  );
  private readonly takeovers = this.counter(
    "folio_lease_takeovers_total",
    "Projects taken over from a process that died or let its lease expire.",
  );
  private readonly discord429 = this.counter(
    "folio_discord_429_total",
    "Answers from Discord with status 429, by scope (global or not).",
    ["global"],
  );

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  constructor(gauges: { queueDepth: () => number; activeProjects: () => number; modelSlots: () => number }) {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge("folio_model_queue_depth", "Model calls waiting for a slot.", gauges.queueDepth);
    gauge("folio_model_slots", "Model calls allowed in flight now (the adaptive limit).", gauges.modelSlots);
    gauge("folio_active_projects", "Projects this process holds a lease on.", gauges.activeProjects);
  }

  unit(outcome: "ok" | "failed"): void {
    this.units.inc({ outcome });
  }

  call(figures: CallFigures): void {
    this.calls.inc({ outcome: figures.outcome });
    this.tokens.inc({ kind: "prompt" }, figures.promptTokens);
    this.tokens.inc({ kind: "cached" }, figures.cachedTokens);
    this.tokens.inc({ kind: "completion" }, figures.completionTokens);
    this.cost.inc(figures.costUsd);
  }

  takeover(): void {
    this.takeovers.inc();
  }

  rateLimited(global: boolean): void {
    this.discord429.inc({ global: String(global) });
  }

  /** The text a Prometheus scrape reads. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
