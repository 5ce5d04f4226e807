// A graph as JSON, in EAP-IG's layout (`cfg`, `nodes`: name → in_graph, `edges`: name → { score, in_graph }) so
// files move between the two tools; tlens adds `format` and the cfg field `attn_only`. Loading checks everything:
// the config, that the node and edge names are exactly the config's, and every flag and score.
import { AttributionError } from "./errors.js";
import { Graph, type GraphConfig } from "./graph.js";

export const GRAPH_FORMAT = "tlens-attribution-graph/1";

export interface GraphJson {
  format: string;
  cfg: { n_layers: number; n_heads: number; parallel_attn_mlp: boolean; attn_only: boolean };
  nodes: Record<string, boolean>;
  edges: Record<string, { score: number | null; in_graph: boolean }>;
}

/** The graph as JSON-ready data (config, nodes, edges with scores and in-graph flags; GRAPH_FORMAT). */
export function graphToJson(g: Graph): GraphJson {
  const { nLayers, nHeads, parallelAttnMlp, attnOnly } = g.cfg;
  return {
    format: GRAPH_FORMAT,
    cfg: { n_layers: nLayers, n_heads: nHeads, parallel_attn_mlp: parallelAttnMlp, attn_only: attnOnly },
    nodes: Object.fromEntries(g.nodes.map((n) => [n.name, n.inGraph])),
    edges: Object.fromEntries(g.edges.map((e) => [e.name, { score: e.score, in_graph: e.inGraph }])),
  };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function fail(msg: string): never {
  throw new AttributionError(`graphFromJson: ${msg}`);
}

function readConfig(cfg: unknown): GraphConfig {
  if (!isRecord(cfg)) fail("no cfg object { n_layers, n_heads, parallel_attn_mlp }");
  const count = (k: string): number => {
    const v = cfg[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
      fail(`cfg.${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const flag = (k: string): boolean => {
    const v = cfg[k];
    if (v === undefined) return false;
    if (typeof v !== "boolean") fail(`cfg.${k} must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    nLayers: count("n_layers"),
    nHeads: count("n_heads"),
    parallelAttnMlp: flag("parallel_attn_mlp"),
    attnOnly: flag("attn_only"),
  };
}

/** The names of `got` must be exactly `want`'s: the first unknown or missing one is named. */
function sameNames(what: string, got: Record<string, unknown>, want: readonly string[], cfgText: string): void {
  const wanted = new Set(want);
  for (const name of Object.keys(got))
    if (!wanted.has(name)) fail(`unknown ${what} ${JSON.stringify(name)} for a graph of ${cfgText}`);
  for (const name of want)
    if (!(name in got))
      fail(`${what} ${JSON.stringify(name)} is missing (a graph of ${cfgText} has ${want.length} ${what}s)`);
}

/** Parses a graph from JSON text or a parsed object (tlens's or EAP-IG's to_json output). */
export function graphFromJson(input: string | unknown): Graph {
  let d: unknown = input;
  if (typeof input === "string") {
    try {
      d = JSON.parse(input);
    } catch (err) {
      fail(`not JSON (${(err as Error).message})`);
    }
  }
  if (!isRecord(d)) fail("expected an object { cfg, nodes, edges }");
  if (d.format !== undefined && d.format !== GRAPH_FORMAT)
    fail(`format ${JSON.stringify(d.format)} is not ${GRAPH_FORMAT}`);
  const g = Graph.fromConfig(readConfig(d.cfg));
  const cfgText = `${g.cfg.nLayers} layers × ${g.cfg.nHeads} heads${g.cfg.attnOnly ? ", attention only" : ""}${g.cfg.parallelAttnMlp ? ", parallel attn/MLP" : ""}`;
  const { nodes, edges } = d;
  if (!isRecord(nodes)) fail("nodes must be an object name → in_graph");
  if (!isRecord(edges)) fail("edges must be an object name → { score, in_graph }");
  sameNames(
    "node",
    nodes,
    g.nodes.map((n) => n.name),
    cfgText,
  );
  sameNames(
    "edge",
    edges,
    g.edges.map((e) => e.name),
    cfgText,
  );
  for (const n of g.nodes) {
    const v = nodes[n.name];
    if (typeof v !== "boolean") fail(`node ${n.name}: in_graph must be a boolean, got ${JSON.stringify(v)}`);
    n.inGraph = v;
  }
  for (const e of g.edges) {
    const v = edges[e.name];
    if (!isRecord(v)) fail(`edge ${e.name}: expected { score, in_graph }, got ${JSON.stringify(v)}`);
    if (v.score !== null && !(typeof v.score === "number" && Number.isFinite(v.score)))
      fail(`edge ${e.name}: score must be a finite number or null, got ${JSON.stringify(v.score)}`);
    if (typeof v.in_graph !== "boolean")
      fail(`edge ${e.name}: in_graph must be a boolean, got ${JSON.stringify(v.in_graph)}`);
    e.score = v.score;
    e.inGraph = v.in_graph;
  }
  return g;
}
