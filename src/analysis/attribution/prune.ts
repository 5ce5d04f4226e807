// Pruning a scored graph to a circuit, as EAP-IG's apply_topn / apply_threshold / apply_greedy + prune: choose
// edges by score, then keep only those on a path from the input to the logits (a kept edge's parent is reached from
// the input and its child reaches the logits through kept edges); a node is in the circuit when a kept edge touches it.
import { AttributionError } from "./errors.js";
import type { Graph, GraphEdge } from "./graph.js";

export interface SelectOptions {
  /** Rank by |score| (default true) or by the signed score. */
  absolute?: boolean;
  /** Drop the chosen edges that are not on an input → logits path (default true). */
  prune?: boolean;
}

function rankKey(absolute: boolean): (e: GraphEdge) => number {
  return (e) => {
    if (e.score === null)
      throw new AttributionError(`prune: edge ${e.name} has no score; score the graph first (setScores)`);
    return absolute ? Math.abs(e.score) : e.score;
  };
}

/** Edges by descending key, ties in edge order (deterministic). */
function ranked(edges: readonly GraphEdge[], key: (e: GraphEdge) => number): GraphEdge[] {
  const k = new Map(edges.map((e) => [e, key(e)]));
  return [...edges].sort((a, b) => k.get(b)! - k.get(a)! || a.index - b.index);
}

function count(n: number, what: string, max: number): number {
  if (!Number.isInteger(n) || n < 0) throw new AttributionError(`${what}: n must be a non-negative integer, got ${n}`);
  if (n > max) throw new AttributionError(`${what}: n = ${n} but the graph has ${max} edges`);
  return n;
}

/** Node flags from the edges: a node is in the graph when an in-graph edge touches it. */
function nodesFromEdges(g: Graph): void {
  const touched = new Set<string>();
  for (const e of g.edges)
    if (e.inGraph) {
      touched.add(e.parent);
      touched.add(e.child);
    }
  for (const n of g.nodes) n.inGraph = touched.has(n.name);
}

/**
 * Keeps only the in-graph edges on an input → logits path: the parent is reached from the input and the child
 * reaches the logits, both through in-graph edges. Node flags follow. Returns the number of edges kept.
 */
export function pruneGraph(g: Graph): number {
  const fromInput = new Set<string>(["input"]);
  for (const n of g.nodes) {
    // nodes are in residual-stream order: every parent comes before its children
    if (g.parentEdges(n.name).some((e) => e.inGraph && fromInput.has(e.parent))) fromInput.add(n.name);
  }
  const toLogits = new Set<string>(["logits"]);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (g.childEdges(n.name).some((e) => e.inGraph && toLogits.has(e.child))) toLogits.add(n.name);
  }
  let kept = 0;
  for (const e of g.edges) {
    e.inGraph = e.inGraph && fromInput.has(e.parent) && toLogits.has(e.child);
    if (e.inGraph) kept++;
  }
  nodesFromEdges(g);
  return kept;
}

function finish(g: Graph, prune: boolean): number {
  if (prune) return pruneGraph(g);
  nodesFromEdges(g);
  return g.countIncludedEdges();
}

/** The `n` highest-scoring edges (EAP-IG's apply_topn), then pruned. Returns the number of edges in the circuit. */
export function applyTopN(g: Graph, n: number, opts: SelectOptions = {}): number {
  count(n, "applyTopN", g.edges.length);
  const order = ranked(g.edges, rankKey(opts.absolute ?? true));
  g.setAll(false);
  for (let i = 0; i < n; i++) order[i]!.inGraph = true;
  return finish(g, opts.prune ?? true);
}

/** Every edge whose score (|score| by default) is ≥ `threshold` (EAP-IG's apply_threshold), then pruned. */
export function applyThreshold(g: Graph, threshold: number, opts: SelectOptions = {}): number {
  if (!Number.isFinite(threshold))
    throw new AttributionError(`applyThreshold: threshold must be a finite number, got ${threshold}`);
  const key = rankKey(opts.absolute ?? true);
  for (const e of g.edges) e.inGraph = key(e) >= threshold;
  return finish(g, opts.prune ?? true);
}

/** A max-heap of edges by key, ties by edge order. */
class EdgeHeap {
  private readonly items: { e: GraphEdge; k: number }[] = [];
  get size(): number {
    return this.items.length;
  }
  private above(a: { e: GraphEdge; k: number }, b: { e: GraphEdge; k: number }): boolean {
    return a.k > b.k || (a.k === b.k && a.e.index < b.e.index);
  }
  push(e: GraphEdge, k: number): void {
    const h = this.items;
    h.push({ e, k });
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.above(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): GraphEdge {
    const h = this.items;
    const top = h[0]!.e;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.above(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.above(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Greedy growth from the logits (EAP-IG's apply_greedy): repeatedly add the best edge into a node already in the
 * circuit; a newly reached parent offers its own incoming edges. Every chosen edge is connected to the logits;
 * pruning (default on) then drops those not reached from the input. Stops early when no candidate is left.
 */
export function applyGreedy(g: Graph, n: number, opts: SelectOptions = {}): number {
  count(n, "applyGreedy", g.edges.length);
  const key = rankKey(opts.absolute ?? true);
  g.setAll(false);
  g.node("logits").inGraph = true;
  const heap = new EdgeHeap();
  const offer = (node: string): void => {
    for (const e of g.parentEdges(node)) heap.push(e, key(e));
  };
  offer("logits");
  for (let added = 0; added < n && heap.size > 0; added++) {
    const e = heap.pop();
    e.inGraph = true;
    const parent = g.node(e.parent);
    if (!parent.inGraph) {
      parent.inGraph = true;
      offer(parent.name);
    }
  }
  return finish(g, opts.prune ?? true);
}
