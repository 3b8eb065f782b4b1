import pino, { type Logger } from "pino";

/** Structured logs on stderr, with anything that looks like a credential removed. */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { app: "folio" },
      redact: {
        paths: [
          "token",
          "apiKey",
          "*.token",
          "*.apiKey",
          "*.authorization",
          "*.headers.authorization",
          "config.DISCORD_TOKEN",
          "config.OPENAI_API_KEY",
        ],
        censor: "[redacted]",
      },
    },
    pino.destination(2),
  );
}
