import { config as loadDotenv } from "dotenv";
import { z } from "zod";

/**
 * Every environment variable Folio reads, with its default. `.env.example` and the README's
 * configuration table list the same variables; keep the three in step.
 */
/** An empty value (`NAME=` in .env) means "use the default", as it does for text settings. */
const blankAsUnset = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value;
const numberFrom = (min: number, max: number, fallback: number, int: boolean) =>
  z.preprocess(
    blankAsUnset,
    (int ? z.coerce.number().int() : z.coerce.number()).min(min).max(max).default(fallback),
  );
const intFrom = (min: number, max: number, fallback: number) => numberFrom(min, max, fallback, true);
const optionalInt = (min: number, max: number) =>
  z.preprocess(blankAsUnset, z.coerce.number().int().min(min).max(max).optional());
const priceFrom = (fallback: number) => numberFrom(0, 10_000, fallback, false);
const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();
const optionalUrl = optionalText.pipe(z.url().optional());
/** A JSON object given as text, e.g. `{"provider":{"require_parameters":true}}`. */
const jsonObject = optionalText.transform((text, ctx) => {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  ctx.addIssue({
    code: "custom",
    message: 'must be a JSON object, e.g. {"provider":{"require_parameters":true}}',
  });
  return z.NEVER;
});

const envSchema = z.object({
  DISCORD_TOKEN: optionalText,
  DISCORD_APPLICATION_ID: optionalText,
  DISCORD_GUILD_ID: optionalText,
  DISCORD_API_URL: optionalUrl,
  // Several processes with one token: each sends its Discord requests through this REST proxy.
  DISCORD_REST_PROXY: optionalUrl,
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: optionalUrl,
  FOLIO_MODEL: z.preprocess(blankAsUnset, z.string().trim().min(1).default("gpt-4.1-mini")),
  FOLIO_MODEL_PLAN: optionalText,
  FOLIO_MODEL_DRAFT: optionalText,
  FOLIO_MODEL_EDIT: optionalText,
  FOLIO_DB_PATH: z.preprocess(blankAsUnset, z.string().trim().min(1).default("./data/folio.db")),
  // Postgres instead of the SQLite file (postgres://user:password@host:5432/folio): for processes on
  // several hosts. FOLIO_DB_PATH is then unused.
  DATABASE_URL: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//i.test(v), {
    message: "a postgres:// URL (unset for the SQLite file FOLIO_DB_PATH)",
  }),
  FOLIO_MAX_ACTIVE_PROJECTS: intFrom(1, 5000, 200),
  FOLIO_LLM_CONCURRENCY: intFrom(1, 64, 4),
  FOLIO_REFINE_CONCURRENCY: intFrom(1, 32, 4),
  FOLIO_LLM_TIMEOUT_MS: intFrom(100, 7_200_000, 1_800_000),
  FOLIO_LLM_IDLE_TIMEOUT_MS: intFrom(100, 3_600_000, 60_000),
  FOLIO_LLM_MAX_RETRIES: intFrom(0, 10, 4),
  FOLIO_MAX_OUTPUT_TOKENS: intFrom(256, 1_000_000, 16_384),
  // Unset: the window the model's family is known to have (src/llm/window.ts).
  FOLIO_CONTEXT_TOKENS: optionalInt(2_048, 10_000_000),
  FOLIO_REASONING_EFFORT: z.preprocess(blankAsUnset, z.enum(["minimal", "low", "medium", "high"]).optional()),
  FOLIO_STRUCTURED: z.preprocess(blankAsUnset, z.enum(["json_schema", "json_object"]).default("json_schema")),
  FOLIO_OUTPUT_LIMIT_FIELD: z.preprocess(
    blankAsUnset,
    z.enum(["max_completion_tokens", "max_tokens"]).default("max_completion_tokens"),
  ),
  FOLIO_EXTRA_BODY: jsonObject,
  FOLIO_UNIT_ATTEMPTS: intFrom(1, 10, 3),
  FOLIO_RETRY_BASE_MS: intFrom(0, 600_000, 2_000),
  FOLIO_LEASE_MS: intFrom(500, 3_600_000, 30_000),
  FOLIO_POLL_MS: intFrom(10, 60_000, 1_000),
  // all: one process does everything; gateway: Discord only; worker: the scheduler only.
  FOLIO_ROLE: z.preprocess(blankAsUnset, z.enum(["all", "gateway", "worker"]).default("all")),
  // Unset: no health or metrics endpoint. 0: any free port (logged).
  FOLIO_HTTP_PORT: optionalInt(0, 65_535),
  // Unset: one process holds every gateway shard Discord asks for. A count, or "auto" (Discord's
  // recommendation): the gateway runs as that many shard processes under discord.js's ShardingManager.
  FOLIO_SHARDS: z.preprocess(
    blankAsUnset,
    z.union([z.literal("auto"), z.coerce.number().int().min(1).max(100_000)]).optional(),
  ),
  // The shards this host runs, e.g. "0,1,2,3", when several hosts share FOLIO_SHARDS; all when unset.
  FOLIO_SHARD_IDS: optionalText.transform((text, ctx) => {
    if (text === undefined) return undefined;
    const ids = text.split(",").map((part) => Number(part.trim()));
    if (ids.some((id) => !Number.isInteger(id) || id < 0)) {
      ctx.addIssue({ code: "custom", message: 'shard ids, separated by commas, e.g. "0,1"' });
      return z.NEVER;
    }
    return [...new Set(ids)].sort((a, b) => a - b);
  }),
  FOLIO_HTTP_HOST: z.preprocess(blankAsUnset, z.string().trim().min(1).default("127.0.0.1")),
  FOLIO_REST_PROXY_PORT: intFrom(0, 65_535, 8_080),
  FOLIO_REST_PROXY_HOST: z.preprocess(blankAsUnset, z.string().trim().min(1).default("127.0.0.1")),
  FOLIO_PRICE_INPUT_PER_M: priceFrom(0.4),
  FOLIO_PRICE_CACHED_PER_M: priceFrom(0.1),
  FOLIO_PRICE_OUTPUT_PER_M: priceFrom(1.6),
  FOLIO_MAX_PROJECTS_PER_USER: intFrom(1, 1000, 3),
  FOLIO_BUDGET_USD: numberFrom(0, 1_000_000, 0, false),
  FOLIO_AUTHOR_NAME: z.preprocess(blankAsUnset, z.string().trim().min(1).default("Folio Author")),
  LOG_LEVEL: z.preprocess(
    blankAsUnset,
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  ),
});

export type Config = z.infer<typeof envSchema>;

export class ConfigError extends Error {}

/** Parses the environment (after loading `.env` when present). Throws one readable line per problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, { dotenv = true } = {}): Config {
  if (dotenv) loadDotenv({ quiet: true });
  const parsed = envSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const name = first?.path.join(".") ?? "environment";
  const value = env[name];
  const shown = value === undefined ? "is missing" : `is "${value}"`;
  throw new ConfigError(`Configuration error: ${name} ${shown}: ${first?.message ?? "invalid"}.`);
}

export function modelFor(config: Config, role: "plan" | "draft" | "edit"): string {
  const override = {
    plan: config.FOLIO_MODEL_PLAN,
    draft: config.FOLIO_MODEL_DRAFT,
    edit: config.FOLIO_MODEL_EDIT,
  }[role];
  return override ?? config.FOLIO_MODEL;
}

/** The variables a feature needs, checked where the feature starts rather than at parse time. */
export function requireKeys<K extends keyof Config>(config: Config, keys: K[], purpose: string): void {
  const missing = keys.filter((k) => config[k] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(`Configuration error: ${missing.join(", ")} must be set ${purpose}.`);
  }
}
