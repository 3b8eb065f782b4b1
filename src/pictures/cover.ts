import { readFileSync } from "node:fs";
import opentype, { type Font } from "opentype.js";
import { FONTS, svgToPng } from "./render";

/** Kindle Direct Publishing's recommended cover: 1,600 × 2,560 pixels (a 1 : 1.6 ratio). */
export const COVER = { width: 1600, height: 2560 } as const;

export interface CoverInput {
  title: string;
  author: string;
  genre: string | null;
}

interface Palette {
  name: string;
  background: [string, string];
  ink: string;
  accent: string;
}

/** Palettes by the words a genre is named with, first match wins; the literary one otherwise. */
const PALETTES: { match: RegExp; palette: Palette }[] = [
  {
    match: /thrill|crime|noir|myster|suspense|detective|spy/i,
    palette: { name: "noir", background: ["#161a22", "#0b0d12"], ink: "#f1ece2", accent: "#c8402f" },
  },
  {
    match: /horror|gothic|ghost|haunt|dark/i,
    palette: { name: "gothic", background: ["#1a1212", "#070505"], ink: "#efe6dc", accent: "#9b2226" },
  },
  {
    match: /science|sci-fi|scifi|space|dystop|cyber|future/i,
    palette: { name: "space", background: ["#0c1a2e", "#050b15"], ink: "#e8f1f5", accent: "#5cc6d8" },
  },
  {
    match: /fantasy|myth|magic|epic|fairy|legend/i,
    palette: { name: "myth", background: ["#143a33", "#0a211d"], ink: "#f3ecd8", accent: "#d6a84e" },
  },
  {
    match: /romance|love|romantic/i,
    palette: { name: "rose", background: ["#5c2233", "#3a1220"], ink: "#fbefe6", accent: "#e6b86c" },
  },
  {
    match: /histor|period|saga|war/i,
    palette: { name: "sepia", background: ["#3e2c1c", "#271a0f"], ink: "#f4e7cf", accent: "#c99a5b" },
  },
];
const LITERARY: Palette = {
  name: "literary",
  background: ["#f1ebdf", "#e4dccb"],
  ink: "#24201b",
  accent: "#a4452c",
};

export function paletteFor(genre: string | null): Palette {
  return PALETTES.find((p) => genre && p.match.test(genre))?.palette ?? LITERARY;
}

const fonts = new Map<string, Font>();
function font(file: string): Font {
  let loaded = fonts.get(file);
  if (!loaded) {
    const data = readFileSync(file);
    loaded = opentype.parse(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    fonts.set(file, loaded);
  }
  return loaded;
}
const fontFile = (name: string) => FONTS.files.find((f) => f.includes(name))!;
const TITLE_FONT = () => font(fontFile("EBGaramond_500Medium"));
const LABEL_FONT = () => font(fontFile("Inter_600SemiBold"));

/**
 * The width of a line of text as the bundled font sets it: each glyph's advance, with the font's kerning
 * pairs and letter-spacing (no ligatures, which only ever narrow a line).
 */
function widthOf(f: Font, text: string, size: number, spacing = 0): number {
  const glyphs = [...text].map((ch) => f.charToGlyph(ch));
  let units = 0;
  for (const [k, glyph] of glyphs.entries()) {
    units += glyph.advanceWidth ?? 0;
    const next = glyphs[k + 1];
    if (next) units += f.getKerningValue(glyph, next);
  }
  return (units * size) / f.unitsPerEm + spacing * Math.max(0, glyphs.length - 1);
}

/** The title in as few lines as fit `width` at `size`, each break between words (a word too long is cut by size). */
function wrap(f: Font, text: string, size: number, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines.at(-1);
    if (last !== undefined && widthOf(f, `${last} ${word}`, size) <= width)
      lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** The largest title size (and its lines) that fits four lines within the cover's text block. */
export function fitTitle(title: string): { size: number; lines: string[] } {
  const f = TITLE_FONT();
  const width = COVER.width - 2 * 230;
  for (let size = 230; size > 70; size -= 6) {
    const lines = wrap(f, title, size, width);
    if (lines.length <= 4 && lines.every((l) => widthOf(f, l, size) <= width)) return { size, lines };
  }
  const size = 70;
  return { size, lines: wrap(f, title, size, width).slice(0, 5) };
}

/** A label's size so that it fits the cover's width (genre and author: one line each). */
function fitLabel(text: string, start: number, spacing: number): number {
  const f = LABEL_FONT();
  let size = start;
  while (size > 24 && widthOf(f, text, size, spacing * (size / start)) > COVER.width - 2 * 220) size -= 2;
  return size;
}

const xmlText = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The cover as SVG: the title set large in the book's serif, the genre above, the author below. */
export function coverSvg(input: CoverInput): string {
  const p = paletteFor(input.genre);
  const { width: W, height: H } = COVER;
  const title = fitTitle(input.title.trim() || "Untitled");
  const leading = title.size * 1.08;
  const block = leading * (title.lines.length - 1);
  const top = 1180 - block / 2;
  const genre = (input.genre ?? "a novel").toUpperCase();
  const author = input.author.toUpperCase();
  const genreSize = fitLabel(genre, 46, 14);
  const authorSize = fitLabel(author, 64, 12);
  const ornament = (y: number) =>
    `<g stroke="${p.accent}" stroke-width="4" fill="${p.accent}"><line x1="${W / 2 - 260}" y1="${y}" x2="${W / 2 - 40}" y2="${y}"/><line x1="${W / 2 + 40}" y1="${y}" x2="${W / 2 + 260}" y2="${y}"/><path d="M ${W / 2} ${y - 18} L ${W / 2 + 18} ${y} L ${W / 2} ${y + 18} L ${W / 2 - 18} ${y} Z"/></g>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${p.background[0]}"/><stop offset="1" stop-color="${p.background[1]}"/></linearGradient></defs>`,
    `<rect width="${W}" height="${H}" fill="url(#bg)"/>`,
    `<rect x="90" y="90" width="${W - 180}" height="${H - 180}" fill="none" stroke="${p.accent}" stroke-width="5"/>`,
    `<rect x="118" y="118" width="${W - 236}" height="${H - 236}" fill="none" stroke="${p.accent}" stroke-width="1.5" opacity="0.7"/>`,
    `<text x="${W / 2}" y="330" text-anchor="middle" font-family="${FONTS.sans}" font-weight="600" font-size="${genreSize}" letter-spacing="${(14 * genreSize) / 46}" fill="${p.accent}">${xmlText(genre)}</text>`,
    ornament(top - title.size - 40),
    ...title.lines.map(
      (line, k) =>
        `<text x="${W / 2}" y="${(top + k * leading).toFixed(1)}" text-anchor="middle" font-family="${FONTS.serif}" font-weight="500" font-size="${title.size}" fill="${p.ink}">${xmlText(line)}</text>`,
    ),
    ornament(top + block + title.size * 0.6 + 20),
    `<text x="${W / 2}" y="${H - 300}" text-anchor="middle" font-family="${FONTS.sans}" font-weight="600" font-size="${authorSize}" letter-spacing="${(12 * authorSize) / 64}" fill="${p.ink}">${xmlText(author)}</text>`,
    "</svg>",
  ].join("\n");
}

/** The cover as a PNG, 1,600 × 2,560. */
export function coverPng(input: CoverInput): Buffer {
  return svgToPng(coverSvg(input));
}
