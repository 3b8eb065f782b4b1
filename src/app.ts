import type { Logger } from "pino";
import { closeDatabase, type Db, openDatabase } from "../db/client";
import { type Config, ConfigError } from "./config";
import { LlmClient } from "./llm/client";
import { Metrics } from "./ops/metrics";
import { fanOut, type ProgressSink } from "./pipeline/events";
import { Scheduler, type SchedulerOptions } from "./pipeline/scheduler";
import type { Deliverer } from "./pipeline/unit";

export interface Engine {
  config: Config;
  db: Db;
  llm: LlmClient;
  scheduler: Scheduler;
  /** The process's Prometheus metrics (served by `serveOps`). */
  metrics: Metrics;
  log: Logger;
  close(): Promise<void>;
}

function schedulerOptionsFrom(config: Config): Partial<SchedulerOptions> {
  return {
    maxActiveProjects: config.FOLIO_MAX_ACTIVE_PROJECTS,
    unitAttempts: config.FOLIO_UNIT_ATTEMPTS,
    retryBaseMs: config.FOLIO_RETRY_BASE_MS,
    leaseMs: config.FOLIO_LEASE_MS,
    pollMs: config.FOLIO_POLL_MS,
  };
}

/** Wires the database, the model client and the scheduler; the host supplies sinks and delivery. */
export function createEngine(
  config: Config,
  log: Logger,
  host: {
    sinks: ProgressSink[];
    deliver: Deliverer;
    scheduler?: Partial<SchedulerOptions>;
    /** False for commands that only read and write the database (status, export, versions, rollback). */
    needsModel?: boolean;
  },
): Engine {
  if (host.needsModel !== false && !config.OPENAI_API_KEY && !config.OPENAI_BASE_URL) {
    throw new ConfigError(
      "Configuration error: OPENAI_API_KEY is missing: set it, or set OPENAI_BASE_URL to a local OpenAI-compatible server.",
    );
  }
  const db = openDatabase(config.DATABASE_URL ?? config.FOLIO_DB_PATH);
  let scheduler: Scheduler | undefined;
  const llm = new LlmClient(config, db, log, (call) => metrics.call(call));
  const metrics = new Metrics({
    queueDepth: () => llm.limit.queued,
    modelSlots: () => llm.limit.limit,
    activeProjects: () => scheduler?.activeProjects.length ?? 0,
  });
  const emit = fanOut(host.sinks, (error) => log.error({ err: error }, "progress sink failed"));
  scheduler = new Scheduler(
    { db, llm, config, log, emit, deliver: host.deliver, metrics },
    { ...schedulerOptionsFrom(config), ...host.scheduler },
  );
  return {
    config,
    db,
    llm,
    scheduler,
    metrics,
    log,
    async close() {
      await scheduler.stop();
      await closeDatabase(db);
    },
  };
}
