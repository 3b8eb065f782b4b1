import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** Every TypeScript source file below `dir`, as paths relative to `root`. */
export function sourceFiles(root: string, dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts")) found.push(relative(root, path));
    }
  };
  walk(join(root, dir));
  return found.sort();
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?([^;]*?)\s+from\s+"([^"]+)"/gms;

/**
 * The project files each file imports. With `values` only, `import type` / `export type` are left out:
 * they vanish when the code runs, so only value imports can make modules load each other in a circle.
 */
export function importGraph(root: string, files: string[], values: boolean): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(root, file), "utf8");
    const targets: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const [, , typeOnly, clause, spec] = match;
      if (!spec!.startsWith(".")) continue;
      if (values && (typeOnly || /^\{\s*(type\s+[^,}]+,?\s*)+\}$/.test(clause!.trim()))) continue;
      const base = resolve(root, dirname(file), spec!.replace(/\.js$/, ""));
      const target = [`${base}.ts`, join(base, "index.ts")].find((p) => existsSync(p));
      if (target) targets.push(relative(root, target));
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Each import cycle once, as the files along it. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const key = (cycle: string[]) => [...cycle].sort().join(" ");
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") {
        const cycle = stack.slice(stack.indexOf(next));
        if (!seen.has(key(cycle))) {
          seen.add(key(cycle));
          cycles.push(cycle);
        }
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}
