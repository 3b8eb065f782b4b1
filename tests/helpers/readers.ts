import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export function installed(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

/** Debian ships epubcheck as an executable jar; elsewhere it is a wrapper script on the PATH. */
const EPUBCHECK_JAR = "/usr/share/java/epubcheck.jar";
export function epubcheckCommand(): [string, string[]] | null {
  // One short run: the JIT's first tier and the serial collector start it in about half the CPU.
  if (existsSync(EPUBCHECK_JAR) && installed("java"))
    return ["java", ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", EPUBCHECK_JAR]];
  return installed("epubcheck") ? ["epubcheck", []] : null;
}

export const hasPdfTools = installed("soffice") && installed("pdftotext") && installed("pdfinfo");

export async function tool(command: string, args: string[], timeout = 120_000): Promise<string> {
  const { stdout } = await run(command, args, { timeout, maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

/** Lays a .docx out with LibreOffice and returns the text of each PDF page, in order. */
export async function pdfPagesOfDocx(docx: string, outDir: string): Promise<string[]> {
  // A private profile, so parallel conversions do not fight over LibreOffice's user directory.
  const profile = await mkdtemp(join(tmpdir(), "lo-profile-"));
  try {
    await tool("soffice", [
      `-env:UserInstallation=${pathToFileURL(profile).href}`,
      "--headless",
      "--convert-to",
      "pdf",
      "--outdir",
      outDir,
      docx,
    ]);
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
  const pdf = join(outDir, basename(docx).replace(/\.docx$/, ".pdf"));
  const pageCount = Number(/^Pages:\s+(\d+)/m.exec(await tool("pdfinfo", [pdf]))?.[1]);
  // pdftotext ends every page with a form feed, so one run gives every page's text in order.
  return (await tool("pdftotext", ["-layout", pdf, "-"])).split("\f").slice(0, pageCount);
}

/** epubcheck's verdict: exit code and everything it printed. */
export async function runEpubcheck(file: string): Promise<{ code: number; output: string }> {
  const command = epubcheckCommand();
  if (!command) throw new Error("epubcheck is not installed");
  const result = await run(command[0], [...command[1], file], { timeout: 120_000 }).catch((error) => error);
  return { code: result.code ?? 0, output: `${result.stdout}\n${result.stderr}` };
}
