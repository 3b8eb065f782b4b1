import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../src/discord/views";
import {
  FINISHED,
  FIRST_STAGE,
  nextStage,
  SIDE_TRIPS,
  type StageId,
  WORKFLOW,
} from "../src/pipeline/workflow";
import type { StageDefinition } from "../stages/definition";
import { ROOT } from "./helpers/cli";
import { findCycles, importGraph, sourceFiles } from "./helpers/imports";

const PRODUCT_DIRS = ["src", "stages", "commands", "db"];
const productFiles = () => PRODUCT_DIRS.flatMap((dir) => sourceFiles(ROOT, dir));

describe("the code's structure", () => {
  it("has no import cycle that runs, and type-only cycles only inside stages/", () => {
    expect(findCycles(importGraph(ROOT, productFiles(), true))).toEqual([]);
    const typeCycles = findCycles(importGraph(ROOT, productFiles(), false));
    // The Plan type names every planning artifact, and each planning stage reads the Plan.
    expect(typeCycles.flat().filter((file) => !file.startsWith("stages/"))).toEqual([]);
  });

  it("keeps knowledge flowing one way: stages know nothing of the pipeline, the database or hosts", () => {
    const graph = importGraph(ROOT, productFiles(), false);
    const offending = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((target) =>
          file.startsWith("stages/")
            ? /^(src\/(pipeline|discord|cli|app|index)|db\/|commands\/)/.test(target)
            : file.startsWith("src/pipeline/") && /^(src\/(discord|cli)|commands\/)/.test(target),
        )
        .map((target) => `${file} -> ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it("lists every stage a stage file defines exactly once, and walks from the first to the end", async () => {
    const listed: readonly StageDefinition[] = [...WORKFLOW, ...SIDE_TRIPS];
    const defined: StageDefinition[] = [];
    for (const file of sourceFiles(ROOT, "stages")) {
      const module = (await import(join(ROOT, file))) as Record<string, unknown>;
      for (const value of Object.values(module)) {
        if (value && typeof value === "object" && "kind" in value && "id" in value && "label" in value)
          defined.push(value as StageDefinition);
      }
    }
    expect(new Set(defined).size).toBeGreaterThanOrEqual(16);
    for (const stage of defined) expect(listed, `${stage.id} is not in the workflow`).toContain(stage);
    const ids = listed.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const stage of listed) {
      if (stage.kind !== "gate") continue;
      if (stage.revises) expect(listed).toContain(stage.revises);
      if (stage.redrafts) expect(listed).toContain(stage.redrafts);
    }
    const walked: StageId[] = [FIRST_STAGE];
    while (walked.at(-1) !== FINISHED) walked.push(nextStage(walked.at(-1)!));
    expect(walked).toEqual([...WORKFLOW.map((s) => s.id), FINISHED]);
    for (const trip of SIDE_TRIPS) expect(WORKFLOW.map((s) => s.id)).toContain(nextStage(trip.id));
  });

  it("names stages only in their own files and the workflow", () => {
    const planKeys = new Set(WORKFLOW.flatMap((s) => (s.kind === "plan" ? [s.produces] : [])));
    const ids = [...WORKFLOW, ...SIDE_TRIPS].map((s) => s.id).filter((id) => !planKeys.has(id as never));
    const spelled = new RegExp(`(?<!setName\\(|getString\\()"(${ids.join("|")})"`, "g");
    // Custom ids are Discord's persisted interface; a button's action may share a word with a stage.
    const actions = new Set<string>(ACTIONS);
    const hosts = productFiles().filter(
      (f) => /^(src\/(pipeline|discord|cli)|commands\/)/.test(f) && f !== "src/pipeline/workflow.ts",
    );
    const found = hosts.flatMap((file) =>
      [...readFileSync(join(ROOT, file), "utf8").matchAll(spelled)]
        .filter((m) => !(file === "src/discord/views.ts" && actions.has(m[1]!)))
        .map((m) => `${file}: ${m[0]}`),
    );
    expect(found).toEqual([]);
  });

  it("says why, at the top, when a source file runs past ~300 lines", () => {
    const files = [...productFiles(), ...sourceFiles(ROOT, "tests"), ...sourceFiles(ROOT, "bench")];
    const long = files.filter((file) => {
      if (file.startsWith("db/migrations")) return false;
      const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
      return lines.length > 320 && !lines.slice(0, 20).some((line) => /Over 300 lines: \S/.test(line));
    });
    expect(long).toEqual([]);
  });
});
