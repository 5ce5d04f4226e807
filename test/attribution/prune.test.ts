// Pruning a scored graph: top-n, threshold and greedy choose the edges EAP-IG's rules choose, and after pruning
// every kept edge lies on an input → logits path while no chosen edge on such a path is dropped.
import { describe, expect, it } from "vitest";
import {
  applyGreedy,
  applyThreshold,
  applyTopN,
  Graph,
  pruneGraph,
  type GraphEdge,
} from "../../src/analysis/attribution/index.js";
import { Generator, rand } from "../../src/tensor/index.js";

function scored(cfg: { nLayers: number; nHeads: number; attnOnly?: boolean }, seed: number): Graph {
  const g = Graph.fromConfig(cfg);
  const u = rand([g.edges.length], { generator: new Generator(seed) }).dataSync() as Float32Array;
  g.setScores(Array.from(u, (v) => v * 2 - 1));
  return g;
}

/** The chosen edges on some input → logits path of chosen edges, by fixed-point iteration (independent of pruneGraph). */
function onPaths(g: Graph, chosen: Set<GraphEdge>): Set<GraphEdge> {
  let kept = new Set(chosen);
  for (;;) {
    const hasIn = (n: string): boolean => n === "input" || [...kept].some((e) => e.child === n);
    const hasOut = (n: string): boolean => n === "logits" || [...kept].some((e) => e.parent === n);
    const next = new Set([...kept].filter((e) => hasIn(e.parent) && hasOut(e.child)));
    if (next.size === kept.size) return kept;
    kept = next;
  }
}

const inGraph = (g: Graph): Set<GraphEdge> => new Set(g.edges.filter((e) => e.inGraph));

describe("pruning", () => {
  it("top-n without pruning keeps exactly the n largest |score|; pruning keeps the ones on input → logits paths", () => {
    const g = scored({ nLayers: 2, nHeads: 3 }, 1);
    const abs = g.edges.map((e) => Math.abs(e.score!)).sort((a, b) => b - a);
    expect(applyTopN(g, 20, { prune: false })).toBe(20);
    const chosen = inGraph(g);
    expect(Math.min(...[...chosen].map((e) => Math.abs(e.score!)))).toBe(abs[19]);
    const kept = applyTopN(g, 20);
    expect(inGraph(g)).toEqual(onPaths(g, chosen));
    expect(kept).toBe(onPaths(g, chosen).size);
    for (const n of g.nodes)
      expect(n.inGraph).toBe(g.edges.some((e) => e.inGraph && (e.parent === n.name || e.child === n.name)));
  });

  it("signed ranking keeps the most positive edges", () => {
    const g = scored({ nLayers: 2, nHeads: 2 }, 2);
    applyTopN(g, 10, { absolute: false, prune: false });
    const top = [...g.edges].sort((a, b) => b.score! - a.score!).slice(0, 10);
    expect(inGraph(g)).toEqual(new Set(top));
  });

  it("threshold keeps |score| ≥ t, then prunes", () => {
    const g = scored({ nLayers: 3, nHeads: 2, attnOnly: true }, 3);
    applyThreshold(g, 0.7, { prune: false });
    const chosen = inGraph(g);
    expect(chosen).toEqual(new Set(g.edges.filter((e) => Math.abs(e.score!) >= 0.7)));
    applyThreshold(g, 0.7);
    expect(inGraph(g)).toEqual(onPaths(g, chosen));
  });

  it("a hand-made circuit: input → a0.h0 (v) → m0 → logits survives, a dangling edge does not", () => {
    const g = Graph.fromConfig({ nLayers: 1, nHeads: 1 });
    const s: Record<string, number> = { "input->a0.h0<v>": 3, "a0.h0->m0": 5, "m0->logits": 4, "a0.h0->logits": 0.5 };
    g.setScores(g.edges.map((e) => s[e.name] ?? 0.1));
    expect(applyTopN(g, 1)).toBe(0); // a0.h0 → m0 alone reaches neither end
    expect(g.countIncludedNodes()).toBe(0);
    expect(applyTopN(g, 3)).toBe(3);
    expect(g.nodes.filter((n) => n.inGraph).map((n) => n.name)).toEqual(["input", "a0.h0", "m0", "logits"]);
    g.edge("input->a0.h0<v>").inGraph = false;
    expect(pruneGraph(g)).toBe(0);
  });

  it("greedy grows from the logits: every chosen edge reaches the logits, the first is the best edge into them", () => {
    const g = scored({ nLayers: 3, nHeads: 3 }, 4);
    expect(applyGreedy(g, 25, { prune: false })).toBe(25);
    const chosen = inGraph(g);
    const bestIntoLogits = [...g.parentEdges("logits")].sort((a, b) => Math.abs(b.score!) - Math.abs(a.score!))[0]!;
    expect(chosen.has(bestIntoLogits)).toBe(true);
    // each chosen edge's child is the logits or the parent of another chosen edge
    for (const e of chosen) expect(e.child === "logits" || [...chosen].some((f) => f.parent === e.child)).toBe(true);
    applyGreedy(g, 25);
    expect(inGraph(g)).toEqual(onPaths(g, chosen));
  });

  it("greedy stops when no candidate is left; bad n is refused", () => {
    const g = scored({ nLayers: 1, nHeads: 1 }, 5);
    expect(applyGreedy(g, 8, { prune: false })).toBe(8);
    expect(() => applyTopN(g, 9)).toThrow(/n = 9 but the graph has 8 edges/);
    expect(() => applyGreedy(g, -1)).toThrow(/non-negative integer/);
    expect(() => applyThreshold(g, NaN)).toThrow(/finite/);
    expect(() => applyTopN(Graph.fromConfig({ nLayers: 1, nHeads: 1 }), 2)).toThrow(/has no score/);
  });
});
