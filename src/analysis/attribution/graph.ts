// The computational graph edge attribution scores (EAP, EAP-IG; Syed et al. 2023, Hanna et al. 2024), laid out as
// hannamw/EAP-IG's graph: senders are the input embeddings, each head's output and each MLP; receivers are each
// head's q, k and v input, each MLP input and the logits. A sender feeds every receiver downstream of it in the
// residual stream: every later layer, and within a layer the heads feed that layer's MLP (unless attention and MLP
// run in parallel). The names are EAP-IG's (`input`, `a3.h7`, `m3`, `logits`; edges `a0.h1->a2.h3<q>`, `m0->logits`),
// so graphs read and written by either tool line up.
import { AttributionError } from "./errors.js";

export type NodeKind = "input" | "attn" | "mlp" | "logits";
export type Qkv = "q" | "k" | "v";
export const QKV: readonly Qkv[] = ["q", "k", "v"];

/** The parts of a model config the graph depends on (HookedTransformerConfig has them all). */
export interface GraphConfig {
  nLayers: number;
  nHeads: number;
  /** No MLP nodes (attention-only models). */
  attnOnly?: boolean;
  /** Attention and MLP read the same residual stream (GPT-J, NeoX): heads do not feed their own layer's MLP. */
  parallelAttnMlp?: boolean;
}

export interface GraphNode {
  name: string;
  kind: NodeKind;
  layer: number;
  /** The head of an attention node; null otherwise. */
  head: number | null;
  /** The TL hook holding what the node sends (null for the logits, which send nothing). */
  outHook: string | null;
  /** Row in a dense [nSenders, nReceivers] score matrix; null for the logits. */
  senderIndex: number | null;
  inGraph: boolean;
}

export interface GraphEdge {
  name: string;
  parent: string;
  child: string;
  /** Which input of the child head the edge feeds; null when the child is an MLP or the logits. */
  qkv: Qkv | null;
  /** The TL hook of the receiving input: blocks.{l}.hook_{q,k,v}_input, blocks.{l}.hook_mlp_in or the final resid_post. */
  hook: string;
  /** Position in graph.edges (the order of score vectors). */
  index: number;
  /** Row (sender) and column (receiver) in a dense [nSenders, nReceivers] score matrix. */
  senderIndex: number;
  receiverIndex: number;
  score: number | null;
  inGraph: boolean;
}

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
    throw new AttributionError(`Graph: ${what} must be a positive integer, got ${String(v)}`);
  return v;
}

/** The graph's config with every field present (validated). */
export function normalizeConfig(cfg: GraphConfig): Required<GraphConfig> {
  if (typeof cfg !== "object" || cfg === null)
    throw new AttributionError("Graph: pass a config { nLayers, nHeads, attnOnly?, parallelAttnMlp? }");
  for (const k of ["attnOnly", "parallelAttnMlp"] as const) {
    if (cfg[k] !== undefined && typeof cfg[k] !== "boolean")
      throw new AttributionError(`Graph: ${k} must be a boolean, got ${String(cfg[k])}`);
  }
  return {
    nLayers: positiveInt(cfg.nLayers, "nLayers"),
    nHeads: positiveInt(cfg.nHeads, "nHeads"),
    attnOnly: cfg.attnOnly ?? false,
    parallelAttnMlp: cfg.parallelAttnMlp ?? false,
  };
}

/** The computational graph of EAP / EAP-IG: nodes (input, each head, each MLP, logits), every sender → receiver
 *  edge (q/k/v inputs apart) with its score and in-graph flag; saved and loaded as JSON. */
export class Graph {
  readonly cfg: Readonly<Required<GraphConfig>>;
  /** In residual-stream order: input, then per layer its heads and its MLP, then the logits. */
  readonly nodes: readonly GraphNode[];
  /** In EAP-IG's order: per receiver, its senders upstream first. */
  readonly edges: readonly GraphEdge[];
  readonly nSenders: number;
  readonly nReceivers: number;
  private readonly nodeByName: Map<string, GraphNode>;
  private readonly edgeByName: Map<string, GraphEdge>;
  private readonly parentEdgesOf: Map<string, GraphEdge[]>;
  private readonly childEdgesOf: Map<string, GraphEdge[]>;

  private constructor(cfg: Required<GraphConfig>) {
    this.cfg = Object.freeze(cfg);
    const nodes: GraphNode[] = [];
    const edges: GraphEdge[] = [];
    const { nLayers, nHeads, attnOnly, parallelAttnMlp } = cfg;
    const mlpCols = attnOnly ? 0 : 1;
    const node = (
      name: string,
      kind: NodeKind,
      layer: number,
      head: number | null,
      outHook: string | null,
    ): GraphNode => {
      const n: GraphNode = {
        name,
        kind,
        layer,
        head,
        outHook,
        senderIndex: kind === "logits" ? null : nodes.length,
        inGraph: true,
      };
      nodes.push(n);
      return n;
    };
    const link = (
      senders: readonly GraphNode[],
      child: GraphNode,
      qkv: Qkv | null,
      hook: string,
      receiverIndex: number,
    ): void => {
      for (const p of senders) {
        edges.push({
          name: `${p.name}->${child.name}${qkv ? `<${qkv}>` : ""}`,
          parent: p.name,
          child: child.name,
          qkv,
          hook,
          index: edges.length,
          senderIndex: p.senderIndex!,
          receiverIndex,
          score: null,
          inGraph: true,
        });
      }
    };
    const stream: GraphNode[] = [node("input", "input", 0, null, "blocks.0.hook_resid_pre")];
    for (let l = 0; l < nLayers; l++) {
      const col0 = l * (3 * nHeads + mlpCols); // this layer's first receiver column: q heads, k heads, v heads, MLP
      const heads = Array.from({ length: nHeads }, (_, h) =>
        node(`a${l}.h${h}`, "attn", l, h, `blocks.${l}.attn.hook_result`),
      );
      const upstream = [...stream];
      heads.forEach((head, h) =>
        QKV.forEach((x, i) => link(upstream, head, x, `blocks.${l}.hook_${x}_input`, col0 + i * nHeads + h)),
      );
      stream.push(...heads);
      if (!attnOnly) {
        const mlp = node(`m${l}`, "mlp", l, null, `blocks.${l}.hook_mlp_out`);
        link(parallelAttnMlp ? upstream : [...stream], mlp, null, `blocks.${l}.hook_mlp_in`, col0 + 3 * nHeads);
        stream.push(mlp);
      }
    }
    this.nSenders = stream.length;
    this.nReceivers = nLayers * (3 * nHeads + mlpCols) + 1;
    link(
      stream,
      node("logits", "logits", nLayers - 1, null, null),
      null,
      `blocks.${nLayers - 1}.hook_resid_post`,
      this.nReceivers - 1,
    );
    this.nodes = nodes;
    this.edges = edges;
    this.nodeByName = new Map(nodes.map((n) => [n.name, n]));
    this.edgeByName = new Map(edges.map((e) => [e.name, e]));
    this.parentEdgesOf = new Map(nodes.map((n) => [n.name, []]));
    this.childEdgesOf = new Map(nodes.map((n) => [n.name, []]));
    for (const e of edges) {
      this.parentEdgesOf.get(e.child)!.push(e);
      this.childEdgesOf.get(e.parent)!.push(e);
    }
  }

  /** The graph of a model (or any config with nLayers and nHeads), every node and edge in it, no scores. */
  static fromConfig(cfg: GraphConfig): Graph {
    return new Graph(normalizeConfig(cfg));
  }

  /** The node of this name; AttributionError when there is none. */
  node(name: string): GraphNode {
    const n = this.nodeByName.get(name);
    if (!n)
      throw new AttributionError(
        `Graph: no node ${JSON.stringify(name)} (nodes are input, a{layer}.h{head}, m{layer}, logits)`,
      );
    return n;
  }

  /** The edge of this name ("a0.h1->m2", "a0.h1->a2.h3<q>"); AttributionError when there is none. */
  edge(name: string): GraphEdge {
    const e = this.edgeByName.get(name);
    if (!e)
      throw new AttributionError(
        `Graph: no edge ${JSON.stringify(name)} (edges are parent->child, with <q>/<k>/<v> into heads)`,
      );
    return e;
  }

  /** Whether a node of this name exists. */
  hasNode(name: string): boolean {
    return this.nodeByName.has(name);
  }
  /** Whether an edge of this name exists. */
  hasEdge(name: string): boolean {
    return this.edgeByName.has(name);
  }

  /** Edges into `node` (its senders) and out of it (its receivers). */
  parentEdges(node: string): readonly GraphEdge[] {
    return this.parentEdgesOf.get(this.node(node).name)!;
  }
  /** The edges leaving a node (it is their parent, the sender). */
  childEdges(node: string): readonly GraphEdge[] {
    return this.childEdgesOf.get(this.node(node).name)!;
  }

  /** Sets every edge's score, in edge order (a vector of length edges.length). */
  setScores(scores: ArrayLike<number>): void {
    if (scores.length !== this.edges.length)
      throw new AttributionError(`Graph.setScores: ${scores.length} scores for ${this.edges.length} edges`);
    for (let i = 0; i < scores.length; i++) {
      if (!Number.isFinite(scores[i]))
        throw new AttributionError(
          `Graph.setScores: score ${i} (${this.edges[i]!.name}) is ${scores[i]}, not a finite number`,
        );
    }
    this.edges.forEach((e, i) => {
      e.score = scores[i]!;
    });
  }

  /** Sets every edge's score from a dense row-major [nSenders, nReceivers] matrix (EAP's accumulator); the cells
   *  that are not edges (a sender downstream of the receiver) are ignored. */
  setScoresFromMatrix(matrix: ArrayLike<number>): void {
    const want = this.nSenders * this.nReceivers;
    if (matrix.length !== want)
      throw new AttributionError(
        `Graph.setScoresFromMatrix: ${matrix.length} values for a [${this.nSenders}, ${this.nReceivers}] matrix (${want})`,
      );
    this.setScores(this.edges.map((e) => matrix[e.senderIndex * this.nReceivers + e.receiverIndex]!));
  }

  /** Every edge's score in edge order (throws when an edge has none). */
  scores(): Float64Array {
    return Float64Array.from(this.edges, (e) => {
      if (e.score === null)
        throw new AttributionError(`Graph: edge ${e.name} has no score; score the graph first (setScores)`);
      return e.score;
    });
  }

  /** How many edges are in the circuit (`inGraph`). */
  countIncludedEdges(): number {
    return this.edges.reduce((n, e) => n + (e.inGraph ? 1 : 0), 0);
  }
  /** How many nodes are in the circuit (`inGraph`). */
  countIncludedNodes(): number {
    return this.nodes.reduce((n, v) => n + (v.inGraph ? 1 : 0), 0);
  }

  /** Marks every node and edge as in the graph (or none). */
  setAll(inGraph: boolean): void {
    for (const n of this.nodes) n.inGraph = inGraph;
    for (const e of this.edges) e.inGraph = inGraph;
  }
}

/** The number of edges of the graph of `cfg` (GPT-2 small: 32,491), without building it. */
export function edgeCount(cfg: GraphConfig): number {
  const { nLayers: L, nHeads: H, attnOnly, parallelAttnMlp } = normalizeConfig(cfg);
  const perLayer = attnOnly ? H : H + 1; // senders each layer adds
  let n = 0;
  for (let l = 0; l < L; l++) {
    const upstream = 1 + l * perLayer;
    n += 3 * H * upstream;
    if (!attnOnly) n += parallelAttnMlp ? upstream : upstream + H;
  }
  return n + 1 + L * perLayer;
}
