// Shared bits of the seed-notebook examples: argument parsing, model loading, plain-text tables.
import { HookedTransformer, type Tensor } from "../src/index.js";

/** `--key value` / `--flag` arguments (after the script name). */
export function parseArgs(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) out.set(a.slice(2), argv[++i]!);
    else out.set(a.slice(2), "true");
  }
  return out;
}

export function intArg(args: Map<string, string>, key: string, def: number): number {
  const v = args.get(key);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`--${key} must be an integer, got "${v}"`);
  return n;
}

/** "10.7" or "L10H7" → [10, 7] */
export function parseHead(s: string): [number, number] {
  const m = /^L?(\d+)[.H](\d+)$/i.exec(s.trim());
  if (!m) throw new Error(`cannot read head "${s}" (write it as 10.7 or L10H7)`);
  return [Number(m[1]), Number(m[2])];
}

/** `--model <name|dir>` (default toy-ioi), loaded with TransformerLens's default weight processing. */
export async function loadModel(args: Map<string, string>): Promise<HookedTransformer> {
  const name = args.get("model") ?? "toy-ioi";
  return HookedTransformer.fromPretrained(name);
}

export const isGpt2Small = (model: HookedTransformer): boolean => model.cfg.nLayers === 12 && model.cfg.dModel === 768;

export const fmt = (v: number, d = 4): string => (Object.is(v, -0) ? 0 : v).toFixed(d).replace(/^-(0\.0*)$/, "$1");

/** A plain-text table: columns padded to their widest cell. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  title?: string,
  decimals = 4,
): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c, decimals) : c)));
  const w = headers.map((h, j) => Math.max(h.length, ...cells.map((r) => (r[j] ?? "").length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!)))
      .join("  ")
      .trimEnd();
  const sep = w.map((n) => "-".repeat(n)).join("  ");
  return [...(title ? [title] : []), line(headers), sep, ...cells.map(line)].join("\n");
}

/** A [rows, cols] tensor as a table with row labels and column labels. */
export function matrixTable(
  t: Tensor,
  rowLabels: readonly string[],
  colLabels: readonly string[],
  title?: string,
  decimals = 4,
  corner = "",
): string {
  const a = t.toArray() as number[][];
  return table(
    [corner, ...colLabels],
    a.map((r, i) => [rowLabels[i]!, ...r]),
    title,
    decimals,
  );
}

/** [layer, head] → "layer\head" table. */
export function layerHeadTable(t: Tensor, title: string, decimals = 4): string {
  const [L, H] = t.shape as [number, number];
  return matrixTable(
    t,
    Array.from({ length: L }, (_, l) => `L${l}`),
    Array.from({ length: H }, (_, h) => `H${h}`),
    title,
    decimals,
    "layer",
  );
}

export const headName = ([l, h]: readonly number[]): string => `L${l}H${h}`;

/** Heads sorted by |value| of a [layer, head] tensor, largest first. */
export function topHeads(
  t: Tensor,
  k: number,
  by: "abs" | "pos" | "neg" = "abs",
): { head: [number, number]; value: number }[] {
  const a = t.toArray() as number[][];
  const all = a.flatMap((r, l) => r.map((v, h) => ({ head: [l, h] as [number, number], value: v })));
  const key = (v: number): number => (by === "abs" ? Math.abs(v) : by === "pos" ? v : -v);
  return all.sort((x, y) => key(y.value) - key(x.value)).slice(0, k);
}

export const isMain = (url: string): boolean => !!process.argv[1] && url === new URL(`file://${process.argv[1]}`).href;
