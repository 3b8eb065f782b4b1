import { PNG } from "pngjs";

/** A PNG decoded: its size and how much its pixels vary (a blank image has none). */
export function readPng(data: Buffer): { width: number; height: number; variance: number } {
  const png = PNG.sync.read(data);
  let sum = 0;
  let squares = 0;
  const pixels = png.width * png.height;
  for (let i = 0; i < png.data.length; i += 4) {
    // Luminance of each pixel, 0–255.
    const y = 0.2126 * png.data[i]! + 0.7152 * png.data[i + 1]! + 0.0722 * png.data[i + 2]!;
    sum += y;
    squares += y * y;
  }
  const mean = sum / pixels;
  return { width: png.width, height: png.height, variance: squares / pixels - mean * mean };
}
