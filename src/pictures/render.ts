import { createRequire } from "node:module";
import { Resvg } from "@resvg/resvg-js";
import type { TopLevelSpec } from "vega-lite";

const require = createRequire(import.meta.url);

/**
 * The fonts every picture is drawn with, bundled from npm (SIL Open Font Licence), never the system's:
 * the same book gives the same pixels on every machine.
 */
export const FONTS = {
  sans: "Inter",
  serif: "EB Garamond",
  files: [
    "@expo-google-fonts/inter/400Regular/Inter_400Regular.ttf",
    "@expo-google-fonts/inter/600SemiBold/Inter_600SemiBold.ttf",
    "@expo-google-fonts/eb-garamond/400Regular/EBGaramond_400Regular.ttf",
    "@expo-google-fonts/eb-garamond/500Medium/EBGaramond_500Medium.ttf",
    "@expo-google-fonts/eb-garamond/400Regular_Italic/EBGaramond_400Regular_Italic.ttf",
  ].map((file) => require.resolve(file)),
} as const;

/** An SVG drawn to PNG at its own size, with the bundled fonts only. */
export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: [...FONTS.files], defaultFontFamily: FONTS.sans },
    shapeRendering: 2,
    textRendering: 1,
  });
  return Buffer.from(resvg.render().asPng());
}

/**
 * A Vega-Lite chart as SVG: compiled to Vega and laid out headless (no canvas, no display). Vega is
 * loaded with the first chart, not with the program: loaded before discord.js, it keeps discord.js's
 * event emitter from starting, and most commands never draw.
 */
export async function chartSvg(spec: TopLevelSpec): Promise<string> {
  const [{ parse, View }, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A chart as a PNG. */
export async function chartPng(spec: TopLevelSpec): Promise<Buffer> {
  return svgToPng(await chartSvg(spec));
}
