import { execFileSync } from "node:child_process";

interface PandocBlock {
  t: string;
  c?: unknown;
}

/** Reads a .docx with pandoc and returns its level-1 headings and the words of its text. */
export function readDocxWithPandoc(path: string): { headings: string[]; words: number; text: string } {
  const ast = JSON.parse(
    execFileSync("pandoc", ["-f", "docx", "-t", "json", path], { encoding: "utf8", maxBuffer: 1 << 28 }),
  );
  const headings = (ast.blocks as PandocBlock[])
    .filter((b) => b.t === "Header" && Array.isArray(b.c) && b.c[0] === 1)
    .map((b) => inlineText((b.c as unknown[])[2]));
  const text = execFileSync("pandoc", ["-f", "docx", "-t", "plain", "--wrap=none", path], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  return { headings, words: text.split(/\s+/).filter(Boolean).length, text };
}

function inlineText(inlines: unknown): string {
  if (!Array.isArray(inlines)) return "";
  return inlines
    .map((i: PandocBlock) =>
      i.t === "Str" ? String(i.c) : i.t === "Space" ? " " : inlineText(Array.isArray(i.c) ? i.c.at(-1) : []),
    )
    .join("");
}
