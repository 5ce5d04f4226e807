// The families without goldens here (GPT-J, OPT, Phi, Llama, Mistral, Gemma): config.json → TL config per TL 2.18's
// mapping, and the weight conversion checked element by element on small state dicts whose every value is distinct.
import { describe, expect, it } from "vitest";
import { LoadError } from "../../src/errors.js";
import { convertFamilyWeights } from "../../src/loading/families/index.js";
import { hfConfigToTL } from "../../src/loading/hf-config.js";
import { Tensor } from "../../src/tensor/index.js";

const D = 8,
  H = 2,
  Dh = 4,
  M = 12,
  V = 10,
  C = 6,
  L = 1;

/** A tensor whose entry i is `seed + i / 1024` (distinct across tensors with distinct seeds). */
let seed = 0;
const t = (...shape: number[]): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  const base = ++seed * 100;
  return Tensor.fromTypedArray(
    Float32Array.from({ length: n }, (_, i) => base + i / 1024),
    shape,
  );
};
const at = (x: Tensor, ...idx: number[]): number => {
  let flat = 0;
  idx.forEach((v, i) => {
    flat = flat * x.shape[i]! + v;
  });
  return x.dataSync()[flat]!;
};

function convert(config: Record<string, unknown>, hf: Map<string, Tensor>) {
  // a copy of the inputs: the conversion consumes them (and Gemma's scales them in place)
  const snapshot = new Map(
    [...hf].map(([k, x]) => [k, Tensor.fromTypedArray((x.dataSync() as Float32Array).slice(), x.shape)]),
  );
  const cfg = hfConfigToTL(config, "config.json");
  const out = convertFamilyWeights(hf, cfg, config, "model.safetensors");
  expect(hf.size).toBe(0);
  return { cfg, out, hf: snapshot };
}

describe("GPT-J", () => {
  const config = {
    architectures: ["GPTJForCausalLM"],
    n_embd: D,
    n_head: H,
    n_layer: L,
    n_positions: C,
    vocab_size: V,
    rotary_dim: 2,
    activation_function: "gelu_new",
    n_inner: null,
    layer_norm_epsilon: 1e-6,
  };
  const hf = new Map<string, Tensor>([
    ["transformer.wte.weight", t(V, D)],
    ["transformer.h.0.ln_1.weight", t(D)],
    ["transformer.h.0.ln_1.bias", t(D)],
    ["transformer.h.0.attn.q_proj.weight", t(H * Dh, D)],
    ["transformer.h.0.attn.k_proj.weight", t(H * Dh, D)],
    ["transformer.h.0.attn.v_proj.weight", t(H * Dh, D)],
    ["transformer.h.0.attn.out_proj.weight", t(D, H * Dh)],
    ["transformer.h.0.mlp.fc_in.weight", t(4 * D, D)],
    ["transformer.h.0.mlp.fc_in.bias", t(4 * D)],
    ["transformer.h.0.mlp.fc_out.weight", t(D, 4 * D)],
    ["transformer.h.0.mlp.fc_out.bias", t(D)],
    ["transformer.ln_f.weight", t(D)],
    ["transformer.ln_f.bias", t(D)],
    ["lm_head.weight", t(V, D)],
    ["lm_head.bias", t(V)],
    ["transformer.h.0.attn.bias", t(1, 1, C, C)], // causal-mask buffer, dropped
  ]);
  it("maps TL's config (d_mlp 4·n_embd, eps 1e-5, adjacent-pair rotary) and converts the weights", () => {
    const { cfg, out, hf: src } = convert(config, hf);
    expect([
      cfg.dMlp,
      cfg.eps,
      cfg.rotaryDim,
      cfg.rotaryAdjacentPairs,
      cfg.parallelAttnMlp,
      cfg.positionalEmbeddingType,
    ]).toEqual([32, 1e-5, 2, true, true, "rotary"]);
    const q = src.get("transformer.h.0.attn.q_proj.weight")!;
    expect(at(out.get("blocks.0.attn.W_Q")!, 1, 5, 3)).toBe(at(q, 1 * Dh + 3, 5));
    const o = src.get("transformer.h.0.attn.out_proj.weight")!;
    expect(at(out.get("blocks.0.attn.W_O")!, 1, 2, 7)).toBe(at(o, 7, 1 * Dh + 2));
    expect(Array.from(out.get("blocks.0.ln2.w")!.dataSync())).toEqual(
      Array.from(src.get("transformer.h.0.ln_1.weight")!.dataSync()),
    );
    expect(at(out.get("blocks.0.mlp.W_in")!, 3, 20)).toBe(at(src.get("transformer.h.0.mlp.fc_in.weight")!, 20, 3));
    expect(Array.from(out.get("unembed.b_U")!.dataSync())).toEqual(Array.from(src.get("lm_head.bias")!.dataSync()));
    expect(Array.from(out.get("blocks.0.attn.b_O")!.dataSync())).toEqual(new Array(D).fill(0));
  });
});

describe("OPT", () => {
  const config = {
    architectures: ["OPTForCausalLM"],
    hidden_size: D,
    num_attention_heads: H,
    num_hidden_layers: L,
    ffn_dim: M,
    max_position_embeddings: C,
    vocab_size: V,
    activation_function: "relu",
    do_layer_norm_before: true,
    word_embed_proj_dim: D,
  };
  const p = "model.decoder.layers.0";
  const hf = () =>
    new Map<string, Tensor>([
      ["model.decoder.embed_tokens.weight", t(V, D)],
      ["model.decoder.embed_positions.weight", t(C + 2, D)],
      [`${p}.self_attn_layer_norm.weight`, t(D)],
      [`${p}.self_attn_layer_norm.bias`, t(D)],
      ...["q", "k", "v", "out"].flatMap((x): [string, Tensor][] => [
        [`${p}.self_attn.${x}_proj.weight`, t(D, D)],
        [`${p}.self_attn.${x}_proj.bias`, t(D)],
      ]),
      [`${p}.final_layer_norm.weight`, t(D)],
      [`${p}.final_layer_norm.bias`, t(D)],
      [`${p}.fc1.weight`, t(M, D)],
      [`${p}.fc1.bias`, t(M)],
      [`${p}.fc2.weight`, t(D, M)],
      [`${p}.fc2.bias`, t(D)],
      ["model.decoder.final_layer_norm.weight", t(D)],
      ["model.decoder.final_layer_norm.bias", t(D)],
    ]);
  it("drops the first two position rows (HF's offset) and ties the unembedding", () => {
    const { cfg, out, hf: src } = convert(config, hf());
    expect([cfg.actFn, cfg.positionalEmbeddingType, cfg.normalizationType, cfg.eps]).toEqual([
      "relu",
      "standard",
      "LN",
      1e-5,
    ]);
    expect(out.get("pos_embed.W_pos")!.shape).toEqual([C, D]);
    expect(at(out.get("pos_embed.W_pos")!, 0, 3)).toBe(at(src.get("model.decoder.embed_positions.weight")!, 2, 3));
    expect(at(out.get("unembed.W_U")!, 3, 7)).toBe(at(src.get("model.decoder.embed_tokens.weight")!, 7, 3));
    expect(at(out.get("blocks.0.attn.b_K")!, 1, 2)).toBe(at(src.get(`${p}.self_attn.k_proj.bias`)!, Dh + 2));
  });
  it("refuses post-LN OPT and OPT with projections", () => {
    expect(() => hfConfigToTL({ ...config, do_layer_norm_before: false }, "c.json")).toThrow(/do_layer_norm_before/);
    expect(() => hfConfigToTL({ ...config, word_embed_proj_dim: 4 }, "c.json")).toThrow(/project_in/);
  });
});

describe("Phi", () => {
  const config = {
    architectures: ["PhiForCausalLM"],
    hidden_size: D,
    num_attention_heads: H,
    num_hidden_layers: L,
    intermediate_size: M,
    max_position_embeddings: C,
    vocab_size: V,
    hidden_act: "gelu_new",
    layer_norm_eps: 1e-5,
    partial_rotary_factor: 0.4,
    rope_theta: 10000,
  };
  it("partial rotary int(0.4·d_head), parallel attn+MLP with one shared LN, unembed bias", () => {
    const p = "model.layers.0";
    const hf = new Map<string, Tensor>([
      ["model.embed_tokens.weight", t(V, D)],
      [`${p}.input_layernorm.weight`, t(D)],
      [`${p}.input_layernorm.bias`, t(D)],
      ...["q", "k", "v"].flatMap((x): [string, Tensor][] => [
        [`${p}.self_attn.${x}_proj.weight`, t(D, D)],
        [`${p}.self_attn.${x}_proj.bias`, t(D)],
      ]),
      [`${p}.self_attn.dense.weight`, t(D, D)],
      [`${p}.self_attn.dense.bias`, t(D)],
      [`${p}.mlp.fc1.weight`, t(M, D)],
      [`${p}.mlp.fc1.bias`, t(M)],
      [`${p}.mlp.fc2.weight`, t(D, M)],
      [`${p}.mlp.fc2.bias`, t(D)],
      ["model.final_layernorm.weight", t(D)],
      ["model.final_layernorm.bias", t(D)],
      ["lm_head.weight", t(V, D)],
      ["lm_head.bias", t(V)],
    ]);
    const { cfg, out, hf: src } = convert(config, hf);
    expect([cfg.rotaryDim, cfg.parallelAttnMlp, cfg.rotaryAdjacentPairs]).toEqual([1, true, false]);
    expect(Array.from(out.get("blocks.0.ln2.b")!.dataSync())).toEqual(
      Array.from(src.get(`${p}.input_layernorm.bias`)!.dataSync()),
    );
    expect(at(out.get("blocks.0.attn.W_V")!, 0, 6, 1)).toBe(at(src.get(`${p}.self_attn.v_proj.weight`)!, 1, 6));
  });
});

/** A Llama-layout state dict (`kv` key/value heads, optional q/k/v biases, optional Gemma-2 norms). */
function llamaDict(kv: number, opts: { lmHead: boolean; bias?: boolean; postNorms?: boolean }): Map<string, Tensor> {
  const p = "model.layers.0";
  const m = new Map<string, Tensor>([
    ["model.embed_tokens.weight", t(V, D)],
    [`${p}.input_layernorm.weight`, t(D)],
    [`${p}.post_attention_layernorm.weight`, t(D)],
    [`${p}.self_attn.q_proj.weight`, t(H * Dh, D)],
    [`${p}.self_attn.k_proj.weight`, t(kv * Dh, D)],
    [`${p}.self_attn.v_proj.weight`, t(kv * Dh, D)],
    [`${p}.self_attn.o_proj.weight`, t(D, H * Dh)],
    [`${p}.mlp.gate_proj.weight`, t(M, D)],
    [`${p}.mlp.up_proj.weight`, t(M, D)],
    [`${p}.mlp.down_proj.weight`, t(D, M)],
    ["model.norm.weight", t(D)],
  ]);
  if (opts.lmHead) m.set("lm_head.weight", t(V, D));
  if (opts.bias)
    for (const [x, n] of [
      ["q", H],
      ["k", kv],
      ["v", kv],
    ] as const)
      m.set(`${p}.self_attn.${x}_proj.bias`, t(n * Dh));
  if (opts.postNorms)
    for (const n of ["pre_feedforward_layernorm", "post_feedforward_layernorm"]) m.set(`${p}.${n}.weight`, t(D));
  return m;
}
const llamaConfig = (arch: string, extra: Record<string, unknown> = {}) => ({
  architectures: [arch],
  hidden_size: D,
  num_attention_heads: H,
  num_hidden_layers: L,
  intermediate_size: M,
  max_position_embeddings: C,
  vocab_size: V,
  hidden_act: "silu",
  rms_norm_eps: 1e-6,
  ...extra,
});

describe("Llama", () => {
  it("reads rope_theta, maps rope_scaling llama3 to NTK-by-parts, and converts the gated MLP", () => {
    const config = llamaConfig("LlamaForCausalLM", {
      num_key_value_heads: H,
      rope_theta: 500000,
      rope_scaling: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    });
    const { cfg, out, hf: src } = convert(config, llamaDict(H, { lmHead: true }));
    expect([
      cfg.rotaryBase,
      cfg.useNTKByPartsRope,
      cfg.ntkByPartsFactor,
      cfg.nKeyValueHeads,
      cfg.gatedMlp,
      cfg.finalRms,
    ]).toEqual([500000, true, 8, null, true, true]);
    expect(out.has("blocks.0.attn.W_K")).toBe(true); // equal kv heads: no GQA names (TL's Llama branch sets none)
    expect(at(out.get("blocks.0.mlp.W_gate")!, 2, 9)).toBe(at(src.get("model.layers.0.mlp.gate_proj.weight")!, 9, 2));
    expect(at(out.get("blocks.0.mlp.W_in")!, 2, 9)).toBe(at(src.get("model.layers.0.mlp.up_proj.weight")!, 9, 2));
    expect(() => hfConfigToTL({ ...config, rope_scaling: { rope_type: "yarn", factor: 4 } }, "c.json")).toThrow(
      /rope_scaling.*yarn/,
    );
  });
});

describe("Mistral", () => {
  it("GQA names _W_K/_W_V, a sliding window on every layer, n_ctx 2048", () => {
    const config = llamaConfig("MistralForCausalLM", { num_key_value_heads: 1, sliding_window: 4, rope_theta: 1e6 });
    const { cfg, out, hf: src } = convert(config, llamaDict(1, { lmHead: true }));
    expect([cfg.nCtx, cfg.useLocalAttn, cfg.windowSize, cfg.attnTypes, cfg.nKeyValueHeads, cfg.rotaryBase]).toEqual([
      2048,
      true,
      4,
      ["local"],
      1,
      1e6,
    ]);
    expect(out.get("blocks.0.attn._W_K")!.shape).toEqual([1, D, Dh]);
    expect(at(out.get("blocks.0.attn._W_V")!, 0, 3, 2)).toBe(
      at(src.get("model.layers.0.self_attn.v_proj.weight")!, 2, 3),
    );
    expect(Array.from(out.get("blocks.0.attn._b_K")!.dataSync())).toEqual(new Array(Dh).fill(0));
    // sliding_window null (Mistral v0.2+): global attention
    expect(hfConfigToTL({ ...config, sliding_window: null }, "c.json").useLocalAttn).toBe(false);
  });
});

describe("Gemma", () => {
  it("(1 + w) norms, W_E × sqrt(d_model) in float32, W_U the unscaled tied embedding, gelu_new", () => {
    const config = llamaConfig("GemmaForCausalLM", {
      num_key_value_heads: 1,
      head_dim: Dh,
      hidden_act: "gelu",
      hidden_activation: "gelu_pytorch_tanh",
    });
    const { cfg, out, hf: src } = convert(config, llamaDict(1, { lmHead: false }));
    expect([cfg.actFn, cfg.dHead, cfg.normalizationType]).toEqual(["gelu_new", Dh, "RMS"]);
    const embed = src.get("model.embed_tokens.weight")!;
    expect(at(out.get("embed.W_E")!, 3, 5)).toBe(Math.fround(at(embed, 3, 5) * Math.fround(Math.sqrt(D))));
    expect(at(out.get("unembed.W_U")!, 5, 3)).toBe(at(embed, 3, 5));
    expect(at(out.get("blocks.0.ln1.w")!, 2)).toBe(
      Math.fround(at(src.get("model.layers.0.input_layernorm.weight")!, 2) + 1),
    );
  });
});

describe("errors", () => {
  it("a tensor the conversion does not use, a missing one, or a wrong shape is a LoadError naming it", () => {
    const config = llamaConfig("LlamaForCausalLM");
    const cfg = hfConfigToTL(config, "c.json");
    const extra = llamaDict(H, { lmHead: true }).set("model.layers.0.self_attn.extra.weight", t(2));
    expect(() => convertFamilyWeights(extra, cfg, config, "w")).toThrow(/unexpected tensor.*self_attn\.extra\.weight/);
    const missing = llamaDict(H, { lmHead: true });
    missing.delete("model.norm.weight");
    expect(() => convertFamilyWeights(missing, cfg, config, "w")).toThrow(/missing tensor "model\.norm\.weight"/);
    const wrong = llamaDict(H, { lmHead: true }).set("model.norm.weight", t(D + 1));
    expect(() => convertFamilyWeights(wrong, cfg, config, "w")).toThrow(LoadError);
    const untied = llamaDict(H, { lmHead: false });
    expect(() => convertFamilyWeights(untied, cfg, { ...config, tie_word_embeddings: false }, "w")).toThrow(
      /tie_word_embeddings/,
    );
  });
});
