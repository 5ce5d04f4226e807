// torch-like printing: tensor([[ 0.1000, -2.0000], ...]) with "..." summaries for big tensors.
import type { Tensor } from "./tensor.js";

const THRESHOLD = 1000;
const EDGE = 3;

export function formatTensor(t: Tensor): string {
  const flat = t.contiguous().dataSync();
  const summarize = flat.length > THRESHOLD;
  const fmt = numberFormatter(t, flat, summarize);
  const strides: number[] = [];
  let s = 1;
  for (let d = t.ndim - 1; d >= 0; d--) {
    strides[d] = s;
    s *= t.shape[d]!;
  }
  const indent = "tensor(".length;
  const render = (dim: number, base: number): string => {
    if (dim === t.ndim) return fmt(flat[base]!);
    const n = t.shape[dim]!;
    const items: string[] = [];
    const pick =
      summarize && n > 2 * EDGE
        ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)]
        : [...Array(n).keys()];
    for (const i of pick) items.push(i < 0 ? "..." : render(dim + 1, base + i * strides[dim]!));
    const sep = dim === t.ndim - 1 ? ", " : "," + "\n".repeat(t.ndim - dim - 1) + " ".repeat(indent + dim + 1);
    return `[${items.join(sep)}]`;
  };
  const body = render(0, 0);
  const suffix = t.dtype === "float32" ? "" : `, dtype=${t.dtype}`;
  return `tensor(${body}${suffix})`;
}

function numberFormatter(t: Tensor, flat: ArrayLike<number>, summarize: boolean): (v: number) => string {
  if (t.dtype === "bool") return (v) => (v ? " True" : "False");
  if (t.dtype === "int32") {
    const width = Math.max(1, ...Array.from(sample(flat, summarize), (v) => String(v).length));
    return (v) => String(v).padStart(width);
  }
  const finite = Array.from(sample(flat, summarize)).filter((v) => Number.isFinite(v));
  const allInt = finite.every((v) => Number.isInteger(v));
  const maxAbs = Math.max(0, ...finite.map(Math.abs));
  const minAbs = Math.min(...finite.filter((v) => v !== 0).map(Math.abs));
  const scientific = !allInt && finite.length > 0 && (maxAbs >= 1e8 || (minAbs < 1e-4 && maxAbs / minAbs > 1e3));
  const one = (v: number): string => {
    if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
    if (allInt && maxAbs < 1e8) return `${v.toFixed(0)}.`;
    if (scientific) return v.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2");
    return v.toFixed(4);
  };
  const width = Math.max(1, ...Array.from(sample(flat, summarize), (v) => one(v).length));
  return (v) => one(v).padStart(width);
}

/** The values that will be printed (all, or a bounded sample when summarizing). */
function sample(flat: ArrayLike<number>, summarize: boolean): ArrayLike<number> {
  if (!summarize) return flat;
  const out: number[] = [];
  const step = Math.max(1, Math.floor(flat.length / 2000));
  for (let i = 0; i < flat.length; i += step) out.push(flat[i]!);
  return out;
}
