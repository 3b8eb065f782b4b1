/** The fake model endpoint for benchmarks, in its own process as a real one would be. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "../tests/helpers/cli";

/** Every call takes this long at the endpoint (plus the fake's own work). */
export const LATENCY_MS = 50;

/** The endpoint runs in its own process, as a real one would: its CPU work never stalls the engine's event loop. */
export async function startEndpoint(extra: string[] = []): Promise<{ url: string; stop(): void }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "tests/fakes/llm-server.ts"),
      "--port",
      "0",
      "--latency",
      `${LATENCY_MS}`,
      "--seed",
      "1",
      ...extra,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  return { url: (JSON.parse(line) as { url: string }).url, stop: () => child.kill("SIGTERM") };
}
