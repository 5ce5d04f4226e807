// The edge-attribution graph: which edges exist (counted against the definition, and GPT-2 small's 32,491), names
// and hooks as EAP-IG's, score vectors and matrices, and the JSON round trip with its validation.
import { describe, expect, it } from "vitest";
import {
  AttributionError,
  Graph,
  edgeCount,
  graphFromJson,
  graphToJson,
  type GraphConfig,
  type GraphNode,
} from "../../src/analysis/attribution/index.js";

/** The residual-stream slot a node writes to (input −1, heads of layer l at 2l, its MLP at 2l+1). */
function slot(n: GraphNode): number {
  return n.kind === "input" ? -1 : n.kind === "attn" ? 2 * n.layer : 2 * n.layer + 1;
}

/** Edges by the definition: a sender feeds a head if it writes before the head's layer, an MLP if before it (or
 *  before its layer's heads when parallel), the logits always; three edges (q, k, v) into each head. */
function definitionCount(g: Graph, cfg: GraphConfig): number {
  const senders = g.nodes.filter((n) => n.kind !== "logits");
  let n = 0;
  for (const r of g.nodes) {
    if (r.kind === "input") continue;
    const limit =
      r.kind === "logits" ? Infinity : r.kind === "attn" || cfg.parallelAttnMlp ? 2 * r.layer : 2 * r.layer + 1;
    n += senders.filter((s) => slot(s) < limit).length * (r.kind === "attn" ? 3 : 1);
  }
  return n;
}

describe("Graph", () => {
  it("GPT-2 small has 32,491 edges (12 layers × 12 heads), 158 nodes", () => {
    const g = Graph.fromConfig({ nLayers: 12, nHeads: 12 });
    expect(g.edges.length).toBe(32491);
    expect(edgeCount({ nLayers: 12, nHeads: 12 })).toBe(32491);
    expect(g.nodes.length).toBe(1 + 12 * 13 + 1);
    expect(new Set(g.edges.map((e) => e.name)).size).toBe(32491);
  });

  const configs: GraphConfig[] = [
    { nLayers: 1, nHeads: 1 },
    { nLayers: 2, nHeads: 3 },
    { nLayers: 3, nHeads: 4, attnOnly: true },
    { nLayers: 4, nHeads: 2, parallelAttnMlp: true },
    { nLayers: 6, nHeads: 8 },
    { nLayers: 2, nHeads: 5, attnOnly: true, parallelAttnMlp: true },
  ];
  it.each(configs)("edges of %j: as the definition, and as edgeCount", (cfg) => {
    const g = Graph.fromConfig(cfg);
    expect(g.edges.length).toBe(definitionCount(g, cfg));
    expect(edgeCount(cfg)).toBe(g.edges.length);
    const mlps = cfg.attnOnly ? 0 : cfg.nLayers;
    expect(g.nodes.filter((n) => n.kind === "mlp").length).toBe(mlps);
    expect(g.nSenders).toBe(1 + cfg.nLayers * cfg.nHeads + mlps);
    expect(g.nReceivers).toBe(3 * cfg.nLayers * cfg.nHeads + mlps + 1);
  });

  it("one layer, one head: the 8 edges by name, with EAP-IG's names and the TL hooks they write into", () => {
    const g = Graph.fromConfig({ nLayers: 1, nHeads: 1 });
    expect(g.edges.map((e) => e.name)).toEqual([
      "input->a0.h0<q>",
      "input->a0.h0<k>",
      "input->a0.h0<v>",
      "input->m0",
      "a0.h0->m0",
      "input->logits",
      "a0.h0->logits",
      "m0->logits",
    ]);
    expect(g.edge("input->a0.h0<k>").hook).toBe("blocks.0.hook_k_input");
    expect(g.edge("a0.h0->m0").hook).toBe("blocks.0.hook_mlp_in");
    expect(g.edge("m0->logits").hook).toBe("blocks.0.hook_resid_post");
    expect(g.node("a0.h0").outHook).toBe("blocks.0.attn.hook_result");
    expect(g.node("input").outHook).toBe("blocks.0.hook_resid_pre");
    expect(g.parentEdges("m0").map((e) => e.parent)).toEqual(["input", "a0.h0"]);
    expect(g.childEdges("a0.h0").map((e) => e.child)).toEqual(["m0", "logits"]);
  });

  it("within a layer heads feed their MLP; no head feeds a head of its own layer; parallel blocks cut head → own MLP", () => {
    const g = Graph.fromConfig({ nLayers: 2, nHeads: 2 });
    expect(g.hasEdge("a0.h1->m0")).toBe(true);
    expect(g.hasEdge("a0.h0->a0.h1<q>")).toBe(false);
    expect(g.hasEdge("m0->a1.h0<v>")).toBe(true);
    expect(g.hasEdge("a1.h0->m0")).toBe(false);
    const p = Graph.fromConfig({ nLayers: 2, nHeads: 2, parallelAttnMlp: true });
    expect(p.hasEdge("a0.h1->m0")).toBe(false);
    expect(p.hasEdge("a0.h1->m1")).toBe(true);
  });

  it("each edge has its own cell in the dense [senders, receivers] matrix; setScoresFromMatrix reads it", () => {
    const g = Graph.fromConfig({ nLayers: 3, nHeads: 2 });
    const cells = new Set(g.edges.map((e) => e.senderIndex * g.nReceivers + e.receiverIndex));
    expect(cells.size).toBe(g.edges.length);
    const m = Float64Array.from({ length: g.nSenders * g.nReceivers }, (_, i) => i * 0.5);
    g.setScoresFromMatrix(m);
    for (const e of g.edges) expect(e.score).toBe((e.senderIndex * g.nReceivers + e.receiverIndex) * 0.5);
    // the q/k/v columns of a layer: q heads, then k heads, then v heads, then the MLP
    expect(g.edge("input->a1.h1<k>").receiverIndex).toBe(1 * 7 + 2 + 1);
    expect(g.edge("input->m1").receiverIndex).toBe(1 * 7 + 6);
    expect(g.edge("m2->logits").receiverIndex).toBe(g.nReceivers - 1);
  });

  it("refuses bad configs, bad scores and unknown names with AttributionError", () => {
    expect(() => Graph.fromConfig({ nLayers: 0, nHeads: 2 })).toThrow(/nLayers must be a positive integer, got 0/);
    expect(() => Graph.fromConfig({ nLayers: 2, nHeads: 1.5 })).toThrow(AttributionError);
    const g = Graph.fromConfig({ nLayers: 1, nHeads: 1 });
    expect(() => g.setScores([1, 2])).toThrow(/2 scores for 8 edges/);
    expect(() => g.setScores([1, 2, 3, NaN, 5, 6, 7, 8])).toThrow(/score 3 \(input->m0\) is NaN/);
    expect(() => g.scores()).toThrow(/has no score/);
    expect(() => g.node("a0.h3")).toThrow(/no node "a0.h3"/);
    expect(() => g.edge("m0->a0.h0<q>")).toThrow(AttributionError);
  });
});

describe("graph JSON", () => {
  it("round-trips config, flags and scores, and is EAP-IG's layout", () => {
    const g = Graph.fromConfig({ nLayers: 2, nHeads: 3, attnOnly: true });
    g.setScores(g.edges.map((e, i) => Math.sin(i) * 10));
    g.edges.forEach((e, i) => {
      e.inGraph = i % 3 === 0;
    });
    g.node("a1.h2").inGraph = false;
    const j = graphToJson(g);
    expect(j.cfg).toEqual({ n_layers: 2, n_heads: 3, parallel_attn_mlp: false, attn_only: true });
    expect(j.edges["a0.h1->logits"]).toEqual({
      score: g.edge("a0.h1->logits").score,
      in_graph: g.edge("a0.h1->logits").inGraph,
    });
    const back = graphFromJson(JSON.stringify(j));
    expect(back.cfg).toEqual(g.cfg);
    expect(Array.from(back.scores())).toEqual(Array.from(g.scores()));
    expect(back.edges.map((e) => e.inGraph)).toEqual(g.edges.map((e) => e.inGraph));
    expect(back.nodes.map((n) => n.inGraph)).toEqual(g.nodes.map((n) => n.inGraph));
  });

  it("loads EAP-IG's own to_json output (no format, no attn_only, null scores)", () => {
    const g = Graph.fromConfig({ nLayers: 1, nHeads: 1 });
    const eap = {
      cfg: { n_layers: 1, n_heads: 1, parallel_attn_mlp: false },
      nodes: Object.fromEntries(g.nodes.map((n) => [n.name, true])),
      edges: Object.fromEntries(g.edges.map((e) => [e.name, { score: null, in_graph: true }])),
    };
    const back = graphFromJson(eap);
    expect(back.edges.length).toBe(8);
    expect(back.edges.every((e) => e.score === null)).toBe(true);
  });

  it("says what is wrong with a bad file", () => {
    const good = (): ReturnType<typeof graphToJson> => graphToJson(Graph.fromConfig({ nLayers: 1, nHeads: 1 }));
    expect(() => graphFromJson("{oops")).toThrow(/graphFromJson: not JSON/);
    expect(() => graphFromJson({ ...good(), format: "other/2" })).toThrow(/format "other\/2"/);
    expect(() => graphFromJson({ ...good(), cfg: { n_layers: -1, n_heads: 1 } })).toThrow(
      /cfg.n_layers must be a positive integer, got -1/,
    );
    expect(() => graphFromJson({ ...good(), cfg: { n_layers: 1, n_heads: 1, attn_only: "no" } })).toThrow(
      /cfg.attn_only must be a boolean/,
    );
    const extra = good();
    extra.edges["m0->a0.h0<q>"] = { score: 1, in_graph: true };
    expect(() => graphFromJson(extra)).toThrow(/unknown edge "m0->a0.h0<q>" for a graph of 1 layers × 1 heads/);
    const missing = good();
    delete missing.edges["input->m0"];
    expect(() => graphFromJson(missing)).toThrow(
      /edge "input->m0" is missing \(a graph of 1 layers × 1 heads has 8 edges\)/,
    );
    const badScore = good() as unknown as { edges: Record<string, unknown> };
    badScore.edges["input->m0"] = { score: "big", in_graph: true };
    expect(() => graphFromJson(badScore)).toThrow(/edge input->m0: score must be a finite number or null/);
    const badFlag = good() as unknown as { nodes: Record<string, unknown> };
    badFlag.nodes.m0 = 1;
    expect(() => graphFromJson(badFlag)).toThrow(/node m0: in_graph must be a boolean/);
  });
});
