// The data a viewer carries to the page (src/viz/viewers.ts builds it): what the viewer script reads.

/** A grid of values; null where there is none (masked attention, padding). */
export type Grid = (number | null)[][];

export interface AttentionProps {
  tokens: string[];
  /** [head][query][key] */
  attention: Grid[];
  headNames: string[];
  minValue?: number | null;
  maxValue?: number | null;
  /** Attention × ‖value‖ rather than attention probabilities (the colour range is then the data's). */
  valueWeighted?: boolean;
}

export interface ColoredTokensProps {
  tokens: string[];
  values: (number | null)[];
  minValue: number;
  maxValue: number;
}

export interface TopkProps {
  /** [sample][pos] */
  tokens: string[][];
  /** [sample][layer][pos][neuron] */
  activations: (number | null)[][][][];
  k: number;
  firstDimensionName: string;
  firstDimensionLabels: (string | number)[];
  thirdDimensionName: string;
}

export interface CircuitNode {
  name: string;
  kind: "input" | "attn" | "mlp" | "logits";
  layer: number;
  head: number | null;
}

export interface CircuitEdge {
  name: string;
  parent: string;
  child: string;
  qkv: "q" | "k" | "v" | null;
  score: number;
  inGraph: boolean;
}

export interface CircuitProps {
  nLayers: number;
  nHeads: number;
  nodes: CircuitNode[];
  /** By descending |score|. */
  edges: CircuitEdge[];
  /** The slider's start: edges with |score| ≥ threshold are shown. */
  threshold: number;
  /** The largest |score| (the slider's end and the width scale). */
  maxAbs: number;
}

/** A viewer as the page receives it (src/viz/types.ts's Viewer, with its props typed by kind). */
export type ViewerData =
  | { tlensViewer: "attention-heads" | "attention-patterns"; title?: string; props: AttentionProps }
  | { tlensViewer: "colored-tokens"; title?: string; props: ColoredTokensProps }
  | { tlensViewer: "topk-tokens"; title?: string; props: TopkProps }
  | { tlensViewer: "circuit"; title?: string; props: CircuitProps };
