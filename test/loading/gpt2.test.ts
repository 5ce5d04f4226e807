import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LoadError } from "../../src/errors.js";
import {
  convertGpt2Weights,
  hfConfigExtras,
  hfConfigToTL,
  loadHfModelDir,
  readSafetensors,
  type HookedTransformerConfig,
} from "../../src/loading/index.js";
import { Tensor } from "../../src/tensor/index.js";
import { repo, shared } from "./util.js";

const goldenConfig = JSON.parse(readFileSync(shared("golden/tl/config.json"), "utf8"));
const goldenHf = () =>
  readSafetensors(readFileSync(shared("golden/tl/model.safetensors")), "model.safetensors").tensors;
const goldenTl = readSafetensors(
  readFileSync(shared("golden/tl/tl_converted.safetensors")),
  "tl_converted.safetensors",
).tensors;
const cfg: HookedTransformerConfig = hfConfigToTL(goldenConfig, "golden/config.json");

function maxAbsDiff(a: Tensor, b: Tensor): number {
  const x = a.dataSync(),
    y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

function expectSameAsGolden(w: Map<string, Tensor>): void {
  for (const [k, ref] of goldenTl) {
    const got = w.get(k);
    expect(got, k).toBeDefined();
    expect(got!.shape, k).toEqual(ref.shape);
    expect(got!.dtype, k).toBe("float32");
    expect(maxAbsDiff(got!, ref), k).toBeLessThanOrEqual(1e-7);
  }
}

/** The golden HF tensors renamed the way the Hub's gpt2/model.safetensors names them (no prefix, with attn.bias). */
function hubStyle(hf: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, t] of hf) out.set(k.replace(/^transformer\./, ""), t);
  for (let l = 0; l < cfg.nLayers; l++) {
    out.set(`h.${l}.attn.bias`, Tensor.empty([1, 1, cfg.nCtx, cfg.nCtx]));
    out.set(`h.${l}.attn.masked_bias`, Tensor.empty([]));
  }
  return out;
}

describe("convertGpt2Weights: parity with TransformerLens convert_gpt2_weights", () => {
  it("gives every tensor of golden tl_converted.safetensors exactly, shapes included", () => {
    const w = convertGpt2Weights(goldenHf(), cfg, "golden");
    expectSameAsGolden(w);
    // the only extra key is TL's fill_missing_keys zero b_U
    expect([...w.keys()].filter((k) => !goldenTl.has(k))).toEqual(["unembed.b_U"]);
    expect(w.get("unembed.b_U")!.shape).toEqual([1000]);
    expect(Array.from(w.get("unembed.b_U")!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(w.size).toBe(goldenTl.size + 1);
  });

  it("outputs are contiguous float32 tensors owning separate storage (W_U is not W_E's memory)", () => {
    const hf = goldenHf();
    const w = convertGpt2Weights(hf, cfg, "golden");
    const storages = new Set<unknown>();
    for (const [k, t] of w) {
      expect(t.isContiguous() && t.offset === 0 && t.storage.data.length === t.numel, k).toBe(true);
      expect(storages.has(t.storage), k).toBe(false);
      storages.add(t.storage);
    }
    for (const t of hf.values()) expect(storages.has(t.storage)).toBe(false);
    expect(w.get("blocks.0.attn.W_Q")!.storage.reusable).toBe(true);
  });

  it("accepts Hub key names (no `transformer.`, attn.bias / masked_bias buffers ignored)", () => {
    expectSameAsGolden(convertGpt2Weights(hubStyle(goldenHf()), cfg, "hub"));
  });

  it("uses a separate lm_head.weight ([vocab, d_model], nn.Linear) transposed", () => {
    const hf = goldenHf();
    const wte = hf.get("transformer.wte.weight")!;
    const head = Tensor.fromTypedArray(
      wte.dataSync().map((v, i) => v * 2 + i * 1e-3),
      [1000, 64],
    );
    hf.set("lm_head.weight", head);
    const w = convertGpt2Weights(hf, cfg, "untied");
    const WU = w.get("unembed.W_U")!;
    expect(WU.shape).toEqual([64, 1000]);
    expect(maxAbsDiff(WU, head.transpose(0, 1).contiguous())).toBe(0);
    expect(maxAbsDiff(w.get("embed.W_E")!, wte)).toBe(0);
  });

  it("F64 and F16 inputs are converted to float32", () => {
    const hf = goldenHf();
    for (const [k, t] of hf) hf.set(k, t.to("float64"));
    expectSameAsGolden(convertGpt2Weights(hf, cfg, "f64"));
  });

  it("errors: missing tensor, wrong shape, wrong dtype, both prefixed and not, extra keys, untied without lm_head", () => {
    const err = (hf: Map<string, Tensor>, re: RegExp, opts = {}) => {
      expect(() => convertGpt2Weights(hf, cfg, "src.safetensors", opts)).toThrow(LoadError);
      expect(() => convertGpt2Weights(hf, cfg, "src.safetensors", opts)).toThrow(re);
    };
    let hf = goldenHf();
    hf.delete("transformer.h.1.mlp.c_fc.bias");
    err(
      hf,
      /src\.safetensors: missing tensor "h\.1\.mlp\.c_fc\.bias" \(or "transformer\.h\.1\.mlp\.c_fc\.bias"\), expected shape \[256\]/,
    );
    hf = goldenHf();
    hf.set("transformer.h.2.attn.c_attn.weight", Tensor.empty([192, 64]));
    err(hf, /tensor "transformer\.h\.2\.attn\.c_attn\.weight" has shape \[192, 64\], expected \[64, 192\]/);
    hf = goldenHf();
    hf.set("transformer.wpe.weight", Tensor.empty([32, 64]));
    err(hf, /"transformer\.wpe\.weight" has shape \[32, 64\], expected \[64, 64\]/);
    hf = goldenHf();
    hf.set("transformer.ln_f.bias", Tensor.empty([64], "int32"));
    err(hf, /"transformer\.ln_f\.bias" has dtype int32/);
    hf = goldenHf();
    hf.set("wte.weight", hf.get("transformer.wte.weight")!);
    err(hf, /both "transformer\.wte\.weight" and "wte\.weight"/);
    hf = goldenHf();
    hf.set("transformer.h.3.ln_1.weight", Tensor.empty([64]));
    hf.set("score.weight", Tensor.empty([2, 64]));
    err(hf, /2 unexpected tensor\(s\) for a 3-layer GPT-2: "transformer\.h\.3\.ln_1\.weight", "score\.weight"/);
    expectSameAsGolden(convertGpt2Weights(hf, cfg, "src", { extraKeys: "ignore" }));
    hf = goldenHf();
    err(hf, /missing tensor "lm_head\.weight" \[1000, 64\] and the config says tie_word_embeddings is false/, {
      tieWordEmbeddings: false,
    });
    hf.set("lm_head.weight", Tensor.empty([999, 64]));
    err(hf, /"lm_head\.weight" has shape \[999, 64\], expected \[1000, 64\]/);
  });
});

describe("hfConfigToTL", () => {
  it("gives the golden tl_config fields (camelCased)", () => {
    const tl = JSON.parse(readFileSync(shared("golden/tl/raw/index.json"), "utf8")).tl_config as Record<
      string,
      unknown
    >;
    const camel = (s: string) => s.replace(/_([a-zA-Z])/g, (_, c: string) => c.toUpperCase());
    const skip = new Set(["model_name", "device", "dtype", "n_devices"]); // environment, not the model
    let compared = 0;
    for (const [k, v] of Object.entries(tl)) {
      const ck = camel(k);
      if (skip.has(k) || !(ck in cfg)) continue;
      expect((cfg as unknown as Record<string, unknown>)[ck], k).toEqual(v);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(40);
    expect(cfg.normalizationType).toBe("LN");
    expect(cfg.originalArchitecture).toBe("GPT2LMHeadModel");
    expect(cfg.nParams).toBe(147456);
    expect(cfg.bosTokenId).toBe(999);
    expect(cfg.eosTokenId).toBe(999);
    expect(hfConfigExtras(goldenConfig, "x")).toEqual({ architecture: "GPT2LMHeadModel", tieWordEmbeddings: true });
  });

  it("toy-ioi's config matches the models README", () => {
    const c = hfConfigToTL(
      JSON.parse(readFileSync(repo("models/toy-ioi/config.json"), "utf8")),
      repo("models/toy-ioi/config.json"),
    );
    expect(c).toMatchObject({
      nLayers: 4,
      dModel: 128,
      nHeads: 4,
      dHead: 32,
      dMlp: 512,
      nCtx: 64,
      dVocab: 50257,
      dVocabOut: 50257,
      actFn: "gelu_new",
      eps: 1e-5,
      normalizationType: "LN",
      positionalEmbeddingType: "standard",
      originalArchitecture: "GPT2LMHeadModel",
      defaultPrependBos: true,
      bosTokenId: 50256,
      eosTokenId: 50256,
      modelName: "toy-ioi",
      attnScale: Math.sqrt(32),
    });
  });

  it("maps n_inner, n_ctx, scale flags and activation names", () => {
    const base = { model_type: "gpt2", n_layer: 2, n_embd: 32, n_head: 2, vocab_size: 10, n_positions: 16 };
    expect(hfConfigToTL(base, "c")).toMatchObject({
      dMlp: 128,
      nCtx: 16,
      actFn: "gelu_new",
      eps: 1e-5,
      useAttnScale: true,
      bosTokenId: null,
    });
    expect(hfConfigToTL({ ...base, n_inner: 40 }, "c").dMlp).toBe(40);
    expect(hfConfigToTL({ ...base, n_positions: undefined, n_ctx: 8 }, "c").nCtx).toBe(8);
    expect(
      hfConfigToTL({ ...base, scale_attn_by_inverse_layer_idx: true, scale_attn_weights: false }, "c"),
    ).toMatchObject({ scaleAttnByInverseLayerIdx: true, useAttnScale: false });
    expect(hfConfigToTL({ ...base, activation_function: "gelu_pytorch_tanh" }, "c").actFn).toBe("gelu_new");
    expect(hfConfigToTL({ ...base, activation_function: "relu" }, "c").actFn).toBe("relu");
    expect(hfConfigToTL({ ...base, _name_or_path: "openai-community/gpt2" }, "c").modelName).toBe(
      "openai-community/gpt2",
    );
    expect(hfConfigToTL(base, "c", { modelName: "mine" }).modelName).toBe("mine");
    expect(
      hfConfigToTL({ ...base, architectures: ["GPT2LMHeadModel"], model_type: undefined }, "c").originalArchitecture,
    ).toBe("GPT2LMHeadModel");
  });

  it("refuses unknown architectures, listing the supported ones", () => {
    expect(() =>
      hfConfigToTL({ ...goldenConfig, architectures: ["BloomForCausalLM"], model_type: "bloom" }, "cfg.json"),
    ).toThrow(
      /cfg\.json: unsupported architecture BloomForCausalLM \(model_type "bloom"\); supported: GPT2LMHeadModel, GPTNeoXForCausalLM/,
    );
    expect(() => hfConfigToTL({ n_layer: 2 }, "cfg.json")).toThrow(
      /cannot tell the architecture.*supported: GPT2LMHeadModel/,
    );
    expect(() => hfConfigToTL([1], "cfg.json")).toThrow(/must be a JSON object/);
  });
});

describe("toy-ioi (F16, Hub names without prefix)", () => {
  it("loads from models/toy-ioi with the right shapes and finite values", async () => {
    const { cfg: c, weights, dtypes, dir } = await loadHfModelDir(repo("models/toy-ioi"));
    expect(dir).toBe(repo("models/toy-ioi"));
    expect(c.nLayers).toBe(4);
    expect([...dtypes.values()].every((d) => d === "F16")).toBe(true);
    expect(dtypes.has("wte.weight")).toBe(true);
    const shapes: Record<string, number[]> = {
      "embed.W_E": [50257, 128],
      "pos_embed.W_pos": [64, 128],
      "unembed.W_U": [128, 50257],
      "unembed.b_U": [50257],
      "ln_final.w": [128],
      "ln_final.b": [128],
    };
    for (let l = 0; l < 4; l++) {
      Object.assign(shapes, {
        [`blocks.${l}.ln1.w`]: [128],
        [`blocks.${l}.ln1.b`]: [128],
        [`blocks.${l}.ln2.w`]: [128],
        [`blocks.${l}.ln2.b`]: [128],
        [`blocks.${l}.attn.W_Q`]: [4, 128, 32],
        [`blocks.${l}.attn.W_K`]: [4, 128, 32],
        [`blocks.${l}.attn.W_V`]: [4, 128, 32],
        [`blocks.${l}.attn.b_Q`]: [4, 32],
        [`blocks.${l}.attn.b_K`]: [4, 32],
        [`blocks.${l}.attn.b_V`]: [4, 32],
        [`blocks.${l}.attn.W_O`]: [4, 32, 128],
        [`blocks.${l}.attn.b_O`]: [128],
        [`blocks.${l}.mlp.W_in`]: [128, 512],
        [`blocks.${l}.mlp.b_in`]: [512],
        [`blocks.${l}.mlp.W_out`]: [512, 128],
        [`blocks.${l}.mlp.b_out`]: [128],
      });
    }
    expect(Object.fromEntries([...weights].map(([k, t]) => [k, t.shape]))).toEqual(shapes);
    for (const [k, t] of weights) {
      expect(t.dtype, k).toBe("float32");
      const d = t.dataSync();
      let finite = true;
      for (let i = 0; i < d.length; i++)
        if (!Number.isFinite(d[i])) {
          finite = false;
          break;
        }
      expect(finite, k).toBe(true);
    }
    // tied: W_U is W_E transposed; untrained rows of wte are exactly zero (models README)
    const WE = weights.get("embed.W_E")!.dataSync(),
      WU = weights.get("unembed.W_U")!.dataSync();
    for (const [v, d] of [
      [0, 0],
      [464, 5],
      [50256, 127],
      [12345, 64],
    ])
      expect(WU[d! * 50257 + v!]).toBe(WE[v! * 128 + d!]);
    let zeroRows = 0;
    for (let v = 0; v < 50257; v++) {
      let z = true;
      for (let d = 0; d < 128; d++)
        if (WE[v * 128 + d] !== 0) {
          z = false;
          break;
        }
      if (z) zeroRows++;
    }
    expect(zeroRows).toBeGreaterThan(40000);
    expect(zeroRows).toBeLessThan(50257);
  });
});
