// The forward bench's onnxruntime-node column: the same model (bench/ort-graph.ts builds the ONNX graph from its
// weights), 2 intra-op threads, full graph optimisation — and a check that its logits match tlens's.
import * as ort from "onnxruntime-node";
import type { HookedTransformer, Tensor } from "../src/api.js";
import { buildOnnxDecodeModel, buildOnnxModel } from "./ort-graph.js";

export interface OrtRunner {
  /** Full logits [batch, pos, d_vocab] for int token ids [batch, pos]. */
  run(tokens: Tensor): Promise<Float32Array>;
}

export async function ortRunner(model: HookedTransformer, nPos: number, threads = 2): Promise<OrtRunner> {
  const session = await ort.InferenceSession.create(buildOnnxModel(model, nPos), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  });
  return {
    async run(tokens: Tensor): Promise<Float32Array> {
      const ids = BigInt64Array.from(tokens.to("int32").contiguous().dataSync(), (v) => BigInt(v));
      const out = await session.run({ tokens: new ort.Tensor("int64", ids, tokens.shape) });
      return out.logits!.data as Float32Array;
    },
  };
}

/** Greedy generation at batch 1 with onnxruntime's KV cache (the decode-step graph, one token a step). */
export interface OrtGenerator {
  /** The prompt's tokens fed one at a time into the cache, then `steps` one-token decode steps: the steps + 1 greedy
   *  tokens (the first from the prompt's last logits), those first logits [d_vocab], and the ms of the steps alone. */
  generate(
    prompt: readonly number[],
    steps: number,
  ): Promise<{ tokens: number[]; firstLogits: Float32Array; decodeMs: number }>;
}

export async function ortGenerator(model: HookedTransformer, threads = 2): Promise<OrtGenerator> {
  const session = await ort.InferenceSession.create(buildOnnxDecodeModel(model), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  });
  const { nLayers, nHeads: H, dHead: dh } = model.cfg;
  return {
    async generate(prompt, steps) {
      let past: Record<string, ort.Tensor> = {};
      for (let l = 0; l < nLayers; l++)
        for (const kv of ["k", "v"])
          past[`past_${kv}_${l}`] = new ort.Tensor("float32", new Float32Array(0), [1, H, 0, dh]);
      const step = async (token: number, position: number): Promise<Float32Array> => {
        const out = await session.run({
          token: new ort.Tensor("int64", BigInt64Array.of(BigInt(token)), [1, 1]),
          position: new ort.Tensor("int64", BigInt64Array.of(BigInt(position)), [1]),
          ...past,
        });
        past = {};
        for (let l = 0; l < nLayers; l++)
          for (const kv of ["k", "v"]) past[`past_${kv}_${l}`] = out[`present_${kv}_${l}`]!;
        return out.logits!.data as Float32Array;
      };
      let logits: Float32Array = new Float32Array(0);
      for (const [i, t] of prompt.entries()) logits = await step(t, i);
      const firstLogits = logits;
      const tokens = [argmax(logits)];
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) tokens.push(argmax(await step(tokens[i]!, prompt.length + i)));
      return { tokens, firstLogits, decodeMs: performance.now() - t0 };
    },
  };
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** Largest |a - b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
