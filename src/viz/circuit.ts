// The circuit viewer as data: a scored edge-attribution Graph (analysis/attribution) → a Viewer that toHtml /
// display / savePng draw (src/viz/viewer/circuit.ts): layers top to bottom, edge width and colour by score, hover
// for the score, a threshold slider.
import type { Graph } from "../analysis/attribution/graph.js";
import { VizError } from "./data.js";
import { attachDisplay } from "./display.js";
import type { Viewer } from "./types.js";

export interface CircuitViewerOptions {
  /** The strongest edges sent to the page (default 3000; GPT-2 small has 32,491): enough for any readable circuit. */
  maxEdges?: number;
  /** The slider's start (default: the smallest |score| of the edges in the circuit, or the 50th strongest edge's
   *  when no edge is in the circuit or all are). */
  threshold?: number;
  title?: string;
}

/** The interactive circuit viewer of a graph: layers top to bottom, heads and MLPs as nodes, edge width and colour by score, hover for the score, a threshold slider. */
export function circuitViewer(graph: Graph, opts: CircuitViewerOptions = {}): Viewer {
  const maxEdges = opts.maxEdges ?? 3000;
  if (!Number.isInteger(maxEdges) || maxEdges < 1)
    throw new VizError(`circuitViewer: maxEdges must be a positive integer, got ${maxEdges}`);
  const scored = graph.edges.filter((e) => e.score !== null);
  if (scored.length === 0)
    throw new VizError("circuitViewer: the graph has no scores; score it first (graph.setScores)");
  const edges = [...scored]
    .sort((a, b) => Math.abs(b.score!) - Math.abs(a.score!) || a.index - b.index)
    .slice(0, maxEdges);
  const maxAbs = Math.abs(edges[0]!.score!);
  const kept = edges.filter((e) => e.inGraph);
  const threshold =
    opts.threshold ??
    (kept.length > 0 && kept.length < edges.length
      ? Math.min(...kept.map((e) => Math.abs(e.score!)))
      : Math.abs(edges[Math.min(49, edges.length - 1)]!.score!));
  if (!Number.isFinite(threshold))
    throw new VizError(`circuitViewer: threshold must be a finite number, got ${threshold}`);
  const v: Viewer = {
    tlensViewer: "circuit",
    props: {
      nLayers: graph.cfg.nLayers,
      nHeads: graph.cfg.nHeads,
      nodes: graph.nodes.map((n) => ({ name: n.name, kind: n.kind, layer: n.layer, head: n.head })),
      edges: edges.map((e) => ({
        name: e.name,
        parent: e.parent,
        child: e.child,
        qkv: e.qkv,
        score: e.score!,
        inGraph: e.inGraph,
      })),
      threshold,
      maxAbs,
    },
  };
  if (opts.title !== undefined) v.title = opts.title;
  return attachDisplay(v);
}
