import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { Metrics } from "./metrics";

/** A health check: null when healthy, else what is wrong. */
export type Check = () => string | null | Promise<string | null>;

export interface OpsServer {
  /** Where it listens, e.g. `http://127.0.0.1:9464`. */
  url: string;
  close(): Promise<void>;
}

/**
 * The process's operations endpoint: `GET /healthz` (200 when every check passes, 503 naming the ones
 * that fail, JSON either way) and `GET /metrics` (Prometheus text).
 */
export async function serveOps(
  listen: { host: string; port: number },
  metrics: Metrics,
  checks: Record<string, Check>,
  log: Logger,
): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      void health(checks).then((results) => {
        const healthy = Object.values(results).every((r) => r === "ok");
        res
          .writeHead(healthy ? 200 : 503, { "content-type": "application/json" })
          .end(JSON.stringify({ status: healthy ? "ok" : "unhealthy", checks: results }));
      });
      return;
    }
    if (path === "/metrics") {
      metrics.text().then(
        (text) => res.writeHead(200, { "content-type": metrics.contentType }).end(text),
        (error: unknown) => {
          log.error({ err: error }, "could not collect metrics");
          res.writeHead(500).end();
        },
      );
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("Not found: try /healthz or /metrics\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
  log.info({ url }, "health and metrics served");
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Each check's answer: "ok", or what is wrong (a check that throws says why). */
async function health(checks: Record<string, Check>): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        return [name, (await check()) ?? "ok"] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : String(error)] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}
