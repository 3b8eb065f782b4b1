import { config as loadDotenv } from "dotenv";
import { z } from "zod";

/**
 * Every environment variable Folio reads, with its default. `.env.example` and the README's
 * configuration table list the same variables; keep the three in step.
 */
const intFrom = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
const priceFrom = (fallback: number) => z.coerce.number().min(0).max(10_000).default(fallback);
const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();
const optionalUrl = optionalText.pipe(z.url().optional());

const envSchema = z.object({
  DISCORD_TOKEN: optionalText,
  DISCORD_APPLICATION_ID: optionalText,
  DISCORD_GUILD_ID: optionalText,
  DISCORD_API_URL: optionalUrl,
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: optionalUrl,
  FOLIO_MODEL: z.string().trim().min(1).default("gpt-4.1-mini"),
  FOLIO_MODEL_PLAN: optionalText,
  FOLIO_MODEL_DRAFT: optionalText,
  FOLIO_MODEL_EDIT: optionalText,
  FOLIO_DB_PATH: z.string().trim().min(1).default("./data/folio.db"),
  FOLIO_MAX_ACTIVE_PROJECTS: intFrom(1, 64, 2),
  FOLIO_LLM_CONCURRENCY: intFrom(1, 64, 4),
  FOLIO_REFINE_CONCURRENCY: intFrom(1, 32, 4),
  FOLIO_LLM_TIMEOUT_MS: intFrom(1_000, 3_600_000, 180_000),
  FOLIO_LLM_MAX_RETRIES: intFrom(0, 10, 4),
  FOLIO_UNIT_ATTEMPTS: intFrom(1, 10, 3),
  FOLIO_PRICE_INPUT_PER_M: priceFrom(0.4),
  FOLIO_PRICE_CACHED_PER_M: priceFrom(0.1),
  FOLIO_PRICE_OUTPUT_PER_M: priceFrom(1.6),
  FOLIO_MAX_PROJECTS_PER_USER: intFrom(1, 1000, 3),
  FOLIO_BUDGET_USD: z.coerce.number().min(0).default(0),
  FOLIO_AUTHOR_NAME: z.string().trim().min(1).default("Folio Author"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
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
