// The top-k tokens viewer (CircuitsVis's topk_tokens): per layer and group of neurons, the k samples' positions with
// the highest and the lowest activations, each shown in a little context.
import { colour, el, fmt, showTok } from "./draw.js";
import type { TopkProps } from "./props.js";

/** One position of one sample, with its activation and the colour range of the table. */
interface Entry {
  s: number;
  p: number;
  v: number;
}

/** Neurons per page of the table. */
const PER = 8;

export function renderTopk(root: HTMLElement, p: TopkProps): void {
  const L = p.activations[0]!.length;
  const N = p.activations[0]![0]![0] ? p.activations[0]![0]![0].length : 0;
  const ctrl = el("div", "tlv-ctrl");
  const selL = el("select");
  const selN = el("select");
  for (let l = 0; l < L; l++) {
    const o = el("option", "", p.firstDimensionName + " " + p.firstDimensionLabels[l]);
    o.value = String(l);
    selL.appendChild(o);
  }
  for (let s = 0; s < N; s += PER) {
    const q = el("option", "", p.thirdDimensionName + "s " + s + "\u2013" + Math.min(N - 1, s + PER - 1));
    q.value = String(s);
    selN.appendChild(q);
  }
  ctrl.appendChild(selL);
  ctrl.appendChild(document.createTextNode(" "));
  ctrl.appendChild(selN);
  const table = el("table");
  root.appendChild(ctrl);
  root.appendChild(table);
  const paint = (): void => paintTable(table, p, +selL.value, +selN.value, Math.min(N, +selN.value + PER));
  selL.addEventListener("change", paint);
  selN.addEventListener("change", paint);
  paint();
}

/** The table of layer l, neurons [start, end): a header row, then the top k and the bottom k rows. */
function paintTable(table: HTMLTableElement, p: TopkProps, l: number, start: number, end: number): void {
  const { k } = p;
  table.textContent = "";
  const head = el("tr");
  head.appendChild(el("th", "", ""));
  for (let j = start; j < end; j++) head.appendChild(el("th", "", p.thirdDimensionName + " " + j));
  table.appendChild(head);
  const cols: { top: Entry[]; bottom: Entry[] }[] = [];
  let lo = 0;
  let hi = 0;
  for (let j = start; j < end; j++) {
    const all: Entry[] = [];
    p.tokens.forEach((tokens, si) => {
      for (let pi = 0; pi < tokens.length; pi++) {
        const v = p.activations[si]![l]![pi]![j]!;
        if (v === null) continue;
        all.push({ s: si, p: pi, v });
        if (v > hi) hi = v;
        if (v < lo) lo = v;
      }
    });
    all.sort((a, b) => b.v - a.v);
    cols.push({ top: all.slice(0, k), bottom: all.slice(-k).reverse() });
  }
  for (const [part, name] of [
    ["top", "Top"],
    ["bottom", "Bottom"],
  ] as const) {
    for (let r = 0; r < k; r++) {
      const tr = el("tr");
      tr.appendChild(el("th", "", r === 0 ? name + " " + k : ""));
      for (const c of cols) {
        const e = c[part][r];
        tr.appendChild(e ? entryCell(p.tokens[e.s]!, e, lo, hi) : el("td"));
      }
      table.appendChild(tr);
    }
  }
}

/** A cell: three tokens before, the token (coloured), one after, and the value. */
function entryCell(tokens: string[], e: Entry, lo: number, hi: number): HTMLElement {
  const td = el("td");
  const tok = el("b", "", showTok(tokens[e.p]));
  tok.style.background = colour(e.v, lo, hi);
  td.appendChild(
    el(
      "span",
      "tlv-ctx",
      tokens
        .slice(Math.max(0, e.p - 3), e.p)
        .map(showTok)
        .join(""),
    ),
  );
  td.appendChild(tok);
  td.appendChild(
    el(
      "span",
      "tlv-ctx",
      tokens
        .slice(e.p + 1, e.p + 2)
        .map(showTok)
        .join(""),
    ),
  );
  td.appendChild(el("div", "tlv-ctx", fmt(e.v)));
  return td;
}
