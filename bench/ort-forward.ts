// The forward bench's onnxruntime-node column: the same model (bench/ort-graph.ts builds the ONNX graph from its
// weights), 2 intra-op threads, full graph optimisation — and a check that its logits match tlens's.
import * as ort from "onnxruntime-node";
import type { HookedTransformer, Tensor } from "../src/api.js";
import { buildOnnxModel } from "./ort-graph.js";

export interface OrtRunner {
  /** Full logits [batch, pos, d_vocab] for int token ids [batch, pos]. */
  run(tokens: Tensor): Promise<Float32Array>;
}

export async function ortRunner(model: HookedTransformer, nPos: number, threads = 2): Promise<OrtRunner> {
  const session = await ort.InferenceSession.create(buildOnnxModel(model, nPos), {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential",
  });
  return {
    async run(tokens: Tensor): Promise<Float32Array> {
      const ids = BigInt64Array.from(tokens.to("int32").contiguous().dataSync(), (v) => BigInt(v));
      const out = await session.run({ tokens: new ort.Tensor("int64", ids, tokens.shape) });
      return out.logits!.data as Float32Array;
    },
  };
}

/** Largest |a - b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
