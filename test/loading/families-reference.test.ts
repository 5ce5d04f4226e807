// The families without TL goldens here, end to end: a tiny random checkpoint written as a Hugging Face folder
// (config.json + safetensors: F32, F16, BF16, sharded), loaded by fromPretrainedNoProcessing / fromPretrained, and
// the logits checked against an independent float64 forward written from HF's modeling code (hf-reference.ts).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HookedTransformer, tensor } from "../../src/index.js";
import {
  bfloat16Bits,
  decodeBfloat16,
  decodeFloat16,
  float16Bits,
  writeSafetensors,
} from "../../src/loading/safetensors.js";
import { Tensor } from "../../src/tensor/index.js";
import {
  llama3InvFreq,
  llamaForward,
  optForward,
  parallelForward,
  ropeInvFreq,
  type HfWeights,
  type RefConfig,
} from "./hf-reference.js";
import { rng } from "./util.js";

type Dtype = "F32" | "F16" | "BF16";
const TOKENS = [
  [1, 5, 9, 3, 17, 5, 9, 12],
  [4, 0, 19, 2, 8, 8, 11, 6],
];
const T = TOKENS[0]!.length,
  V = 20;

/** Random HF weights (norm weights near 1, or near 0 for Gemma's 1 + w), rounded to what `dtype` stores. */
function randomWeights(
  shapes: Record<string, number[]>,
  dtype: Dtype,
  seed: number,
  normAt: number,
): Map<string, Float32Array> {
  const r = rng(seed);
  const round = (x: Float32Array): Float32Array =>
    dtype === "F32"
      ? x
      : dtype === "F16"
        ? decodeFloat16(Uint16Array.from(x, float16Bits))
        : decodeBfloat16(Uint16Array.from(x, bfloat16Bits));
  return new Map(
    Object.entries(shapes).map(([name, shape]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const isNorm = /(norm|ln_\w+|ln_f)\.weight$/.test(name);
      return [
        name,
        round(
          Float32Array.from({ length: n }, () => (isNorm ? normAt + 0.2 * (r.next() - 0.5) : 0.8 * (r.next() - 0.5))),
        ),
      ];
    }),
  );
}

/** Writes config.json and the weights (one file, or `shards` files with model.safetensors.index.json). */
function writeHfFolder(
  config: object,
  weights: HfWeights,
  shapes: Record<string, number[]>,
  dtype: Dtype,
  shards = 1,
): string {
  const dir = mkdtempSync(join(tmpdir(), "tlens-fam-ref-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const names = [...weights.keys()];
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = shards === 1 ? "model.safetensors" : `model-0000${s + 1}-of-0000${shards}.safetensors`;
    const part = names.filter((_, i) => i % shards === s);
    const tensors = new Map(part.map((n) => [n, Tensor.fromTypedArray(weights.get(n)!, shapes[n]!)]));
    writeFileSync(join(dir, file), writeSafetensors(tensors, { format: "pt" }, { floatDtype: dtype }));
    for (const n of part) weightMap[n] = file;
  }
  if (shards > 1)
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return dir;
}

/** Per position: logits minus their log-sum-exp (processing's centred unembedding shifts logits by a constant). */
function logSoftmax(x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let p = 0; p < x.length / V; p++) {
    const row = Array.from({ length: V }, (_, i) => x[p * V + i]!);
    const mx = Math.max(...row),
      lse = mx + Math.log(row.reduce((s, v) => s! + Math.exp(v! - mx), 0));
    row.forEach((v, i) => {
      out[p * V + i] = v! - lse;
    });
  }
  return out;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

interface Case {
  config: Record<string, unknown>;
  shapes: Record<string, number[]>;
  dtype: Dtype;
  shards?: number;
  normAt?: number;
  reference: (w: HfWeights, tokens: readonly number[]) => Float64Array;
  /** the same reference without one of the case's features (it must change the logits) */
  without?: (w: HfWeights, tokens: readonly number[]) => Float64Array;
}

const llamaShapes = (
  D: number,
  H: number,
  Hkv: number,
  Dh: number,
  M: number,
  L: number,
  lmHead: boolean,
): Record<string, number[]> => {
  const s: Record<string, number[]> = { "model.embed_tokens.weight": [V, D], "model.norm.weight": [D] };
  if (lmHead) s["lm_head.weight"] = [V, D];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    Object.assign(s, {
      [`${p}.input_layernorm.weight`]: [D],
      [`${p}.post_attention_layernorm.weight`]: [D],
      [`${p}.self_attn.q_proj.weight`]: [H * Dh, D],
      [`${p}.self_attn.k_proj.weight`]: [Hkv * Dh, D],
      [`${p}.self_attn.v_proj.weight`]: [Hkv * Dh, D],
      [`${p}.self_attn.o_proj.weight`]: [D, H * Dh],
      [`${p}.mlp.gate_proj.weight`]: [M, D],
      [`${p}.mlp.up_proj.weight`]: [M, D],
      [`${p}.mlp.down_proj.weight`]: [D, M],
    });
  }
  return s;
};

const LLAMA3 = { factor: 8, low: 1, high: 4, oldCtx: 400 }; // wavelengths on all three sides of the smoothing band
const llamaCfg: RefConfig = {
  D: 16,
  H: 2,
  Hkv: 1,
  Dh: 8,
  M: 24,
  L: 2,
  V,
  eps: 1e-5,
  act: "silu",
  invFreq: llama3InvFreq(ropeInvFreq(8, 500000), LLAMA3),
};
const mistralCfg: RefConfig = { ...llamaCfg, invFreq: ropeInvFreq(8, 1e6), window: 3 };
const gemmaCfg: RefConfig = {
  D: 16,
  H: 4,
  Hkv: 1,
  Dh: 8,
  M: 24,
  L: 2,
  V,
  eps: 1e-6,
  act: "gelu_pytorch_tanh",
  invFreq: ropeInvFreq(8, 10000),
};
const optCfg: RefConfig = { D: 16, H: 2, Hkv: 2, Dh: 8, M: 24, L: 2, V, eps: 1e-5, act: "relu" };
const phiCfg: RefConfig = { ...optCfg, act: "gelu_new", invFreq: ropeInvFreq(4, 10000) };
const gptjCfg: RefConfig = { ...optCfg, M: 64, act: "gelu_new", invFreq: ropeInvFreq(4, 10000) };

const llamaBase = {
  hidden_size: 16,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  num_hidden_layers: 2,
  intermediate_size: 24,
  max_position_embeddings: 32,
  vocab_size: V,
  hidden_act: "silu",
  rms_norm_eps: 1e-5,
  bos_token_id: 1,
  eos_token_id: 2,
};

function linearLayers(
  prefix: string,
  L: number,
  names: Record<string, [number, number, boolean]>,
): Record<string, number[]> {
  const s: Record<string, number[]> = {};
  for (let l = 0; l < L; l++) {
    for (const [n, [out, inp, bias]] of Object.entries(names)) {
      s[`${prefix}.${l}.${n}.weight`] = inp === 0 ? [out] : [out, inp];
      if (bias) s[`${prefix}.${l}.${n}.bias`] = [out];
    }
  }
  return s;
}

const CASES: Record<string, Case> = {
  "Llama-3.1 (BF16, GQA, rope_theta, llama3 rope scaling, untied)": {
    config: {
      ...llamaBase,
      architectures: ["LlamaForCausalLM"],
      rope_theta: 500000,
      tie_word_embeddings: false,
      rope_scaling: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 400,
      },
    },
    shapes: llamaShapes(16, 2, 1, 8, 24, 2, true),
    dtype: "BF16",
    reference: (w, t) => llamaForward(w, t, llamaCfg, false),
    without: (w, t) => llamaForward(w, t, { ...llamaCfg, invFreq: ropeInvFreq(8, 500000) }, false),
  },
  "Mistral (F32 in 2 shards, sliding window 3)": {
    config: { ...llamaBase, architectures: ["MistralForCausalLM"], rope_theta: 1e6, sliding_window: 3 },
    shapes: llamaShapes(16, 2, 1, 8, 24, 2, true),
    dtype: "F32",
    shards: 2,
    reference: (w, t) => llamaForward(w, t, mistralCfg, false),
    without: (w, t) => llamaForward(w, t, { ...mistralCfg, window: undefined }, false),
  },
  "Gemma (F16, (1 + w) norms, √d_model, head_dim ≠ d_model / n_heads, tied)": {
    config: {
      ...llamaBase,
      architectures: ["GemmaForCausalLM"],
      num_attention_heads: 4,
      head_dim: 8,
      rms_norm_eps: 1e-6,
      hidden_act: "gelu",
      hidden_activation: "gelu_pytorch_tanh",
      rope_theta: 10000,
    },
    shapes: llamaShapes(16, 4, 1, 8, 24, 2, false),
    dtype: "F16",
    normAt: 0,
    reference: (w, t) => llamaForward(w, t, gemmaCfg, true),
  },
  "OPT (F32, learned positions at offset 2, ReLU, tied)": {
    config: {
      architectures: ["OPTForCausalLM"],
      hidden_size: 16,
      num_attention_heads: 2,
      num_hidden_layers: 2,
      ffn_dim: 24,
      max_position_embeddings: 32,
      vocab_size: V,
      activation_function: "relu",
      do_layer_norm_before: true,
      word_embed_proj_dim: 16,
      bos_token_id: 2,
      eos_token_id: 2,
    },
    shapes: {
      "model.decoder.embed_tokens.weight": [V, 16],
      "model.decoder.embed_positions.weight": [34, 16],
      "model.decoder.final_layer_norm.weight": [16],
      "model.decoder.final_layer_norm.bias": [16],
      ...linearLayers("model.decoder.layers", 2, {
        "self_attn.q_proj": [16, 16, true],
        "self_attn.k_proj": [16, 16, true],
        "self_attn.v_proj": [16, 16, true],
        "self_attn.out_proj": [16, 16, true],
        self_attn_layer_norm: [16, 0, true],
        final_layer_norm: [16, 0, true],
        fc1: [24, 16, true],
        fc2: [16, 24, true],
      }),
    },
    dtype: "F32",
    reference: (w, t) => optForward(w, t, optCfg),
  },
  "Phi (F32, parallel attn + MLP from one LN, partial rotary 0.5, biases)": {
    config: {
      architectures: ["PhiForCausalLM"],
      hidden_size: 16,
      num_attention_heads: 2,
      num_hidden_layers: 2,
      intermediate_size: 24,
      max_position_embeddings: 32,
      vocab_size: V,
      hidden_act: "gelu_new",
      layer_norm_eps: 1e-5,
      partial_rotary_factor: 0.5,
      rope_theta: 10000,
    },
    shapes: {
      "model.embed_tokens.weight": [V, 16],
      "model.final_layernorm.weight": [16],
      "model.final_layernorm.bias": [16],
      "lm_head.weight": [V, 16],
      "lm_head.bias": [V],
      ...linearLayers("model.layers", 2, {
        "self_attn.q_proj": [16, 16, true],
        "self_attn.k_proj": [16, 16, true],
        "self_attn.v_proj": [16, 16, true],
        "self_attn.dense": [16, 16, true],
        input_layernorm: [16, 0, true],
        "mlp.fc1": [24, 16, true],
        "mlp.fc2": [16, 24, true],
      }),
    },
    dtype: "F32",
    reference: (w, t) => parallelForward(w, t, phiCfg, "phi"),
  },
  "GPT-J (F16, parallel attn + MLP, adjacent-pair rotary on 4 of 8 dims)": {
    config: {
      architectures: ["GPTJForCausalLM"],
      n_embd: 16,
      n_head: 2,
      n_layer: 2,
      n_positions: 32,
      vocab_size: V,
      rotary_dim: 4,
      activation_function: "gelu_new",
      n_inner: null,
      layer_norm_epsilon: 1e-5,
    },
    shapes: {
      "transformer.wte.weight": [V, 16],
      "transformer.ln_f.weight": [16],
      "transformer.ln_f.bias": [16],
      "lm_head.weight": [V, 16],
      "lm_head.bias": [V],
      ...linearLayers("transformer.h", 2, {
        "attn.q_proj": [16, 16, false],
        "attn.k_proj": [16, 16, false],
        "attn.v_proj": [16, 16, false],
        "attn.out_proj": [16, 16, false],
        ln_1: [16, 0, true],
        "mlp.fc_in": [64, 16, true],
        "mlp.fc_out": [16, 64, true],
      }),
    },
    dtype: "F16",
    reference: (w, t) => parallelForward(w, t, gptjCfg, "gptj"),
    without: (w, t) => parallelForward(w, t, { ...gptjCfg, invFreq: new Float64Array(0) }, "gptj"),
  },
};

describe.each(Object.entries(CASES))("%s against HF's forward", (_name, c) => {
  const weights = randomWeights(c.shapes, c.dtype, 18, c.normAt ?? 1);
  const dir = writeHfFolder(c.config, weights, c.shapes, c.dtype, c.shards);
  const want = TOKENS.map((row) => c.reference(weights, row));
  const tokens = tensor(TOKENS, undefined, "int32");

  it("raw logits match the reference; processed log-probs match too", async () => {
    const raw = (await (await HookedTransformer.fromPretrainedNoProcessing(dir)).forward(tokens)) as Tensor;
    const got = raw.dataSync();
    expect(raw.shape).toEqual([TOKENS.length, T, V]);
    TOKENS.forEach((_, b) => expect(maxDiff(got.subarray(b * T * V, (b + 1) * T * V), want[b]!)).toBeLessThan(2e-5));
    const processed = ((await (await HookedTransformer.fromPretrained(dir)).forward(tokens)) as Tensor).dataSync();
    TOKENS.forEach((_, b) => {
      expect(maxDiff(logSoftmax(processed.subarray(b * T * V, (b + 1) * T * V)), logSoftmax(want[b]!))).toBeLessThan(
        2e-5,
      );
    });
    // the feature the case is about matters at these sizes: the reference without it is far off
    if (c.without) expect(maxDiff(c.without(weights, TOKENS[0]!), want[0]!)).toBeGreaterThan(1e-2);
  });
});
