// Attribution patching and circuit discovery: the edge graph, pruning to circuits, the statistics that compare
// estimates with activation patching, and the figure data (faithfulness curve, attribution-vs-patching scatter).
export { AttributionError } from "./errors.js";
export {
  Graph,
  edgeCount,
  QKV,
  type GraphConfig,
  type GraphNode,
  type GraphEdge,
  type NodeKind,
  type Qkv,
} from "./graph.js";
export { graphToJson, graphFromJson, GRAPH_FORMAT, type GraphJson } from "./graph-json.js";
export { applyTopN, applyThreshold, applyGreedy, pruneGraph, type SelectOptions } from "./prune.js";
export { pearson, spearman, ranks } from "./stats.js";
export * from "./tasks/index.js";
export * from "./node/index.js";
export { attributeEdges, EDGE_METHODS, type EdgeAttributionOptions, type EdgeMethod } from "./eap.js";
export { evaluateCircuit, type EvaluateOptions } from "./evaluate.js";
export { faithfulnessCurveData, type FaithfulnessOptions, type FaithfulnessResult } from "./faithfulness.js";
