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
  private readonly units = new Counter({
    name: "folio_units_total",
    help: "Units of work run, by outcome (ok, or failed: an attempt that threw).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  private readonly calls = new Counter({
    name: "folio_model_calls_total",
    help: "Model call attempts, by outcome (ok, 429, timeout, …), as recorded in llm_calls.",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: "folio_model_tokens_total",
    help: "Model tokens, by kind: prompt (cached included), cached, completion.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  private readonly cost = new Counter({
    name: "folio_model_cost_usd_total",
    help: "Estimated model cost in US dollars, at the configured prices.",
    registers: [this.registry],
  });
  private readonly takeovers = new Counter({
    name: "folio_lease_takeovers_total",
    help: "Projects claimed whose lease another process held and let expire.",
    registers: [this.registry],
  });
  private readonly discord429 = new Counter({
    name: "folio_discord_429_total",
    help: "Answers from Discord with status 429, by scope (global or not).",
    labelNames: ["global"] as const,
    registers: [this.registry],
  });

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
