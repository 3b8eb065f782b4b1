import type { Logger } from "pino";
import { closeDatabase, type Db, openDatabase } from "../db/client";
import { type Config, ConfigError } from "./config";
import { LlmClient } from "./llm/client";
import { fanOut, type ProgressSink } from "./pipeline/events";
import type { Deliverer } from "./pipeline/runner";
import { Scheduler, type SchedulerOptions } from "./pipeline/scheduler";

export interface Engine {
  config: Config;
  db: Db;
  llm: LlmClient;
  scheduler: Scheduler;
  log: Logger;
  close(): Promise<void>;
}

/** Internal knobs that tests and operators may tighten; not part of the documented configuration. */
export function schedulerOptionsFromEnv(config: Config, env = process.env): Partial<SchedulerOptions> {
  const number = (name: string) => {
    const value = env[name];
    return value === undefined || value === "" ? undefined : Number(value);
  };
  const options: Partial<SchedulerOptions> = {
    maxActiveProjects: config.FOLIO_MAX_ACTIVE_PROJECTS,
    unitAttempts: config.FOLIO_UNIT_ATTEMPTS,
  };
  const leaseMs = number("FOLIO_LEASE_MS");
  const retryBaseMs = number("FOLIO_RETRY_BASE_MS");
  const pollMs = number("FOLIO_POLL_MS");
  if (leaseMs) options.leaseMs = leaseMs;
  if (retryBaseMs !== undefined) options.retryBaseMs = retryBaseMs;
  if (pollMs) options.pollMs = pollMs;
  return options;
}

/** Wires the database, the model client and the scheduler; the host supplies sinks and delivery. */
export function createEngine(
  config: Config,
  log: Logger,
  host: { sinks: ProgressSink[]; deliver: Deliverer; scheduler?: Partial<SchedulerOptions> },
): Engine {
  if (!config.OPENAI_API_KEY && !config.OPENAI_BASE_URL) {
    throw new ConfigError(
      "Configuration error: OPENAI_API_KEY is missing: set it, or set OPENAI_BASE_URL to a local OpenAI-compatible server.",
    );
  }
  const db = openDatabase(config.FOLIO_DB_PATH);
  const llm = new LlmClient(config, db, log);
  const emit = fanOut(host.sinks, (error) => log.error({ err: error }, "progress sink failed"));
  const scheduler = new Scheduler(
    { db, llm, config, log, emit, deliver: host.deliver },
    { ...schedulerOptionsFromEnv(config), ...host.scheduler },
  );
  return {
    config,
    db,
    llm,
    scheduler,
    log,
    async close() {
      await scheduler.stop();
      closeDatabase(db);
    },
  };
}
