import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli";

const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const configVariables = [...read("src/config.ts").matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);

describe("documentation matches the code", () => {
  it("finds the configuration variables", () => {
    expect(configVariables).toContain("FOLIO_DB_PATH");
    expect(configVariables.length).toBeGreaterThan(20);
  });

  it("lists every configuration variable in .env.example, and nothing else", () => {
    const example = [...read(".env.example").matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    expect(new Set(example)).toEqual(new Set(configVariables));
  });

  it("documents every configuration variable in the README's table", () => {
    const readme = read("README.md");
    for (const name of configVariables) expect(readme, name).toContain(`| \`${name}\``);
  });

  it("shows the two commands that run the bot and the tests", () => {
    const readme = read("README.md");
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toContain("npm ci && npm test");
    expect(read(".ci/run")).toContain("npm test");
  });
});
