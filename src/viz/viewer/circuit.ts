// The circuit viewer: the edge-attribution graph drawn as SVG, layers top to bottom (the input, then each layer's
// heads and below them its MLP, the logits last), each edge's width by |score| and colour by sign (blue positive,
// red negative). Hover an edge for its name and score; the slider hides the edges below a |score| threshold and
// fades the nodes left without edges.
import { el, fmt, NEG, POS } from "./draw.js";
import type { CircuitEdge, CircuitNode, CircuitProps } from "./props.js";

let svgNs: string | null = null;

/** The SVG namespace, as the page's HTML parser assigns it to an <svg> (so the bundle holds no URL at all). */
function svgNamespace(): string {
  if (svgNs === null) {
    const probe = document.createElement("div");
    probe.innerHTML = "<svg></svg>";
    svgNs = probe.firstElementChild!.namespaceURI!;
  }
  return svgNs;
}
const DX = 58; // between heads
const DY = 46; // between rows
const BOX_W = 46;
const BOX_H = 20;
const PAD = 24;
const MAX_WIDTH = 6; // px, the edge of the largest |score|

interface Point {
  x: number;
  y: number;
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(svgNamespace(), tag) as SVGElementTagNameMap[K];
  for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
  return e;
}

/** Row of a node: input 0, layer l's heads 1 + 2l, its MLP 2 + 2l, the logits last. */
function row(n: CircuitNode, nLayers: number): number {
  if (n.kind === "input") return 0;
  if (n.kind === "attn") return 1 + 2 * n.layer;
  if (n.kind === "mlp") return 2 + 2 * n.layer;
  return 1 + 2 * nLayers;
}

function layout(p: CircuitProps): { pos: Map<string, Point>; width: number; height: number } {
  const width = PAD * 2 + p.nHeads * DX;
  const centre = width / 2;
  const pos = new Map<string, Point>();
  for (const n of p.nodes) {
    const x = n.kind === "attn" ? PAD + (n.head ?? 0) * DX + DX / 2 : centre;
    pos.set(n.name, { x, y: PAD + row(n, p.nLayers) * DY + BOX_H / 2 });
  }
  return { pos, width, height: PAD * 2 + (1 + 2 * p.nLayers) * DY + BOX_H };
}

/** The path of an edge: from the bottom of the sender to the top of the receiver (q / k / v enter a head left,
 *  middle, right); edges skipping rows bow sideways so they do not hide the direct ones. */
function edgePath(e: CircuitEdge, from: Point, to: Point, rows: number): string {
  const x1 = from.x;
  const y1 = from.y + BOX_H / 2;
  const x2 = to.x + (e.qkv === "q" ? -BOX_W / 3 : e.qkv === "v" ? BOX_W / 3 : 0);
  const y2 = to.y - BOX_H / 2;
  const bow = rows > 1 ? Math.min(rows, 8) * 9 * (x2 >= x1 ? 1 : -1) : 0;
  return `M${x1.toFixed(1)},${y1.toFixed(1)} Q${((x1 + x2) / 2 + bow).toFixed(1)},${((y1 + y2) / 2).toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}`;
}

interface Tip {
  /** Shows `text` next to the pointer of `ev` and marks `edge` as hovered. */
  show(ev: MouseEvent, text: string, edge: string): void;
  hide(): void;
}

/** The edges, weakest first so the strongest are drawn on top; returns them in props order. */
function drawEdges(canvas: SVGSVGElement, p: CircuitProps, pos: Map<string, Point>, tip: Tip): SVGPathElement[] {
  const byName = new Map(p.nodes.map((n) => [n.name, n]));
  const paths: SVGPathElement[] = [];
  for (let i = p.edges.length - 1; i >= 0; i--) {
    const e = p.edges[i]!;
    const rows = row(byName.get(e.child)!, p.nLayers) - row(byName.get(e.parent)!, p.nLayers);
    const w = p.maxAbs > 0 ? Math.max(0.5, (Math.abs(e.score) / p.maxAbs) * MAX_WIDTH) : 0.5;
    const path = svg("path", {
      d: edgePath(e, pos.get(e.parent)!, pos.get(e.child)!, rows),
      fill: "none",
      stroke: `rgba(${e.score >= 0 ? POS : NEG},0.75)`,
      "stroke-width": w.toFixed(2),
      "data-edge": e.name,
    });
    path.addEventListener("mouseover", (ev) => tip.show(ev, e.name + ": " + fmt(e.score), e.name));
    path.addEventListener("mouseout", () => tip.hide());
    canvas.appendChild(path);
    paths[i] = path;
  }
  return paths;
}

/** The nodes as labelled boxes (heads blue, MLPs green, input and logits grey). */
function drawNodes(canvas: SVGSVGElement, p: CircuitProps, pos: Map<string, Point>): Map<string, SVGGElement> {
  const els = new Map<string, SVGGElement>();
  for (const n of p.nodes) {
    const c = pos.get(n.name)!;
    const g = svg("g", { "data-node": n.name });
    const fill = n.kind === "mlp" ? "#eef6ee" : n.kind === "attn" ? "#eef2fb" : "#f4f4f4";
    g.appendChild(
      svg("rect", { x: c.x - BOX_W / 2, y: c.y - BOX_H / 2, width: BOX_W, height: BOX_H, rx: 4, fill, stroke: "#777" }),
    );
    const t = svg("text", { x: c.x, y: c.y + 4, "text-anchor": "middle", "font-size": 11 });
    t.textContent = n.name;
    g.appendChild(t);
    canvas.appendChild(g);
    els.set(n.name, g);
  }
  return els;
}

function thresholdSlider(p: CircuitProps): HTMLInputElement {
  const slider = el("input");
  slider.type = "range";
  slider.min = "0";
  slider.max = String(p.maxAbs);
  slider.step = "any"; // no snapping: the threshold is the value set
  slider.value = String(p.threshold);
  return slider;
}

export function renderCircuit(root: HTMLElement, p: CircuitProps): void {
  const { pos, width, height } = layout(p);
  root.classList.add("tlv-circuit"); // carries data-visible-edges and data-hover-edge
  const ctrl = el("div", "tlv-ctrl");
  const slider = thresholdSlider(p);
  const label = el("span", "tlv-threshold");
  ctrl.appendChild(document.createTextNode("|score| \u2265 "));
  ctrl.appendChild(slider);
  ctrl.appendChild(label);
  // with a pruned circuit among the edges: show only its edges (the slider still applies)
  const partial = p.edges.some((e) => e.inGraph) && p.edges.some((e) => !e.inGraph);
  const only = el("input");
  only.type = "checkbox";
  only.className = "tlv-circuit-only";
  if (partial) {
    const l = el("label", "", " circuit only");
    l.prepend(only);
    ctrl.appendChild(document.createTextNode("  "));
    ctrl.appendChild(l);
  }
  const wrap = el("div", "tlv-big");
  const tipEl = el("div", "tlv-tip");
  const canvas = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}` });
  wrap.appendChild(canvas);
  wrap.appendChild(tipEl);
  root.appendChild(ctrl);
  root.appendChild(wrap);
  root.appendChild(
    el("div", "tlv-legend", "edge width by |score|, blue positive, red negative; hover an edge for its score"),
  );
  const tip: Tip = {
    show(ev, text, edge) {
      const r = wrap.getBoundingClientRect();
      tipEl.textContent = text;
      tipEl.style.display = "block";
      tipEl.style.left = ev.clientX - r.left + 12 + "px";
      tipEl.style.top = ev.clientY - r.top + 12 + "px";
      root.setAttribute("data-hover-edge", edge);
    },
    hide() {
      tipEl.style.display = "none";
    },
  };
  const edgeEls = drawEdges(canvas, p, pos, tip);
  const nodeEls = drawNodes(canvas, p, pos);
  const apply = (): void => {
    const t = Number(slider.value);
    const live = new Set<string>();
    let shown = 0;
    p.edges.forEach((e, i) => {
      const on = Math.abs(e.score) >= t && (!only.checked || e.inGraph);
      edgeEls[i]!.style.display = on ? "" : "none";
      if (on) {
        shown++;
        live.add(e.parent);
        live.add(e.child);
      }
    });
    nodeEls.forEach((g, name) => {
      g.style.opacity = live.has(name) ? "1" : "0.25";
    });
    label.textContent = " " + fmt(t) + " \u2014 " + shown + " of " + p.edges.length + " edges";
    root.setAttribute("data-visible-edges", String(shown));
  };
  slider.addEventListener("input", apply);
  only.addEventListener("change", apply);
  apply();
}
