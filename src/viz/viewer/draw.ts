// DOM and canvas helpers of the viewers: elements, token display, number format, the blue / red value colours.
import type { Grid } from "./props.js";

export const POS = "37,99,235";
export const NEG = "220,38,38";

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A token as shown: newlines and tabs visible. */
export function showTok(t: unknown): string {
  return String(t).replace(/\n/g, "\\n").replace(/\t/g, "\\t");
}

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return "n/a";
  return Math.abs(v) >= 100 || (Math.abs(v) < 0.001 && v !== 0) ? v.toExponential(2) : v.toFixed(3);
}

/** value → rgba colour: blue for positive, red for negative, alpha by magnitude. */
export function colour(v: number | null | undefined, lo: number, hi: number): string {
  if (v === null || v === undefined || isNaN(v)) return "rgba(0,0,0,0)";
  if (v >= 0) return `rgba(${POS},${(hi > 0 ? Math.min(1, v / hi) : 0).toFixed(3)})`;
  return `rgba(${NEG},${(lo < 0 ? Math.min(1, v / lo) : 0).toFixed(3)})`;
}

/** Text colour readable on colour(v, lo, hi). */
export function textColour(v: number, lo: number, hi: number): string {
  const a = v >= 0 ? (hi > 0 ? v / hi : 0) : lo < 0 ? v / lo : 0;
  return a > 0.6 ? "#fff" : "#111";
}

/** [min, max] over every head's grid, 0 included. */
export function valueRange(grids: Grid[]): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const g of grids)
    for (const row of g)
      for (const v of row) {
        if (v === null) continue;
        if (v > hi) hi = v;
        if (v < lo) lo = v;
      }
  return [lo, hi];
}

/** A canvas of size × size CSS pixels at the device's pixel ratio, its 2-D context scaled to CSS pixels. */
export function sizeCanvas(canvas: HTMLCanvasElement, w: number, h: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  canvas.style.width = w + "px";
  canvas.style.height = h + "px";
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, w, h);
  return ctx;
}

/** Draws a grid as coloured cells filling a size × size canvas. */
export function drawGrid(canvas: HTMLCanvasElement, grid: Grid, size: number, lo: number, hi: number): void {
  const n = grid.length;
  const m = n ? grid[0]!.length : 0;
  const ctx = sizeCanvas(canvas, size, size);
  const cw = size / Math.max(m, 1);
  const ch = size / Math.max(n, 1);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      ctx.fillStyle = colour(grid[i]![j], lo, hi);
      ctx.fillRect(j * cw, i * ch, Math.ceil(cw), Math.ceil(ch));
    }
}
