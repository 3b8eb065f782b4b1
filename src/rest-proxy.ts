import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { populateErrorResponse, populateSuccessfulResponse } from "@discordjs/proxy";
import { REST, type RequestMethod } from "@discordjs/rest";
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./log";

/**
 * `npm run rest-proxy`: the official Discord REST proxy (`@discordjs/proxy`), for several Folio
 * processes that post with one token. Each process sends its requests here (`DISCORD_REST_PROXY`);
 * this one process keeps Discord's per-route and global limits for all of them, waiting out any 429.
 * It forwards each request's own Authorization header and keeps no token of its own.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const rest = new REST({
    ...(config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {}),
    // As the bot alone does: half the global limit, in discord.js's own one-second windows.
    globalRequestsPerSecond: 25,
  });
  rest.on("rateLimited", (info) => {
    if (info.global)
      log.debug({ route: info.route, waitMs: info.timeToReset }, "holding a request for the global limit");
  });
  const server = createServer((req, res) => {
    forward(rest, req, res).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, "could not forward a request");
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
  });
  // Idle connections are kept well past the bots' own keep-alive (undici's is a few seconds), so a
  // bot never sends a request on a connection this end is closing at that moment: such a request fails
  // with "other side closed", and a message it carried would be lost.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.FOLIO_REST_PROXY_PORT, config.FOLIO_REST_PROXY_HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.FOLIO_REST_PROXY_PORT;
  log.info({ url: `http://${config.FOLIO_REST_PROXY_HOST}:${port}` }, "Discord REST proxy listening");
  // The port chosen, for whoever started this with port 0 (a test, a supervisor).
  process.stdout.write(`listening on ${port}\n`);
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/**
 * `@discordjs/proxy`'s `proxyRequests`, except that a failure it does not know (Discord unreachable)
 * is answered 502, not an empty 200 a client would take for success.
 */
async function forward(rest: REST, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://proxy");
  const headers: Record<string, string> = {};
  if (req.headers["content-type"]) headers["Content-Type"] = req.headers["content-type"];
  if (req.headers.authorization) headers.authorization = req.headers.authorization;
  const reason = req.headers["x-audit-log-reason"];
  if (typeof reason === "string") headers["x-audit-log-reason"] = reason;
  try {
    const answer = await rest.queueRequest({
      body: req,
      fullRoute: url.pathname.replace(/^\/api(\/v\d+)?/, "") as `/${string}`,
      method: (req.method ?? "GET") as RequestMethod,
      // The client's own token is forwarded in `headers`.
      auth: false,
      passThroughBody: true,
      query: url.searchParams,
      headers,
    });
    await populateSuccessfulResponse(res, answer);
    res.end();
  } catch (error) {
    if (!populateErrorResponse(res, error)) throw error;
    res.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof ConfigError ? error.message : `folio rest-proxy: ${String(error)}`}\n`,
  );
  process.exit(error instanceof ConfigError ? 2 : 1);
});
