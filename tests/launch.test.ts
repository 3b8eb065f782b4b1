import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { bundled } from "../bin/launch.js";
import { tempDir } from "./helpers/cli";

/** `bin/launch.js`: programs start from one bundle of their sources, made again whenever one changes. */
describe("the launcher's bundle", () => {
  it("keeps each source's own location, is reused while nothing changes, and is made again after a change", async () => {
    const root = tempDir("folio-launch-");
    const cache = join(root, "cache");
    mkdirSync(join(root, "src/deep"), { recursive: true });
    writeFileSync(join(root, "tsconfig.json"), "{}");
    writeFileSync(
      join(root, "src/main.ts"),
      'export { word, where } from "./deep/word";\nexport const here: string = import.meta.url;\n',
    );
    writeFileSync(
      join(root, "src/deep/word.ts"),
      'export const word: string = "one";\nexport const where: string = import.meta.url;\n',
    );
    let loads = 0;
    const load = async () => {
      const path = await bundled("src/main.ts", { root, cache });
      return {
        path,
        made: statSync(path).mtimeMs,
        module: (await import(`${pathToFileURL(path).href}?${++loads}`)) as Record<string, string>,
      };
    };

    const first = await load();
    expect(first.module.word).toBe("one");
    // import.meta.url is each source's own, not the bundle's: paths built from it still hold.
    expect(first.module.here).toBe(pathToFileURL(join(root, "src/main.ts")).href);
    expect(first.module.where).toBe(pathToFileURL(join(root, "src/deep/word.ts")).href);

    const again = await load();
    expect(again.path).toBe(first.path);
    expect(again.made).toBe(first.made);

    writeFileSync(
      join(root, "src/deep/word.ts"),
      'export const word: string = "two, changed";\nexport const where: string = import.meta.url;\n',
    );
    const changed = await load();
    expect(changed.module.word).toBe("two, changed");
    expect(changed.made).toBeGreaterThan(first.made);
  });
});
