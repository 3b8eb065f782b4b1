import type { Config } from "../config";

/** Where the bot's REST requests go: the shared proxy when there is one, else Discord (or its stand-in). */
export function restApi(config: Config): { api?: string } {
  // The proxy takes Discord's paths (`/api/v10/…`) and forwards them upstream.
  if (config.DISCORD_REST_PROXY) return { api: `${config.DISCORD_REST_PROXY.replace(/\/+$/, "")}/api` };
  return config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {};
}
