// The family goldens (../shared/golden/families, TransformerLens v2.18): TL's config from config.json and TL's
// converted parameters (raw case), checked without the forward.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { convertFamilyWeights } from "../../src/loading/families/index.js";
import { readHfSafetensors, loadHfModelDir } from "../../src/loading/fs.js";
import { hfConfigToTL } from "../../src/loading/hf-config.js";
import {
  bfloat16Bits,
  decodeBfloat16,
  decodeFloat16,
  float16Bits,
  writeSafetensors,
} from "../../src/loading/safetensors.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import type { HookedTransformerConfig } from "../../src/loading/config.js";
import { maxAbsDiff } from "../golden.js";

const FAMILIES_DIR = fileURLToPath(new URL("../../../shared/golden/families", import.meta.url));
const FOLDERS = ["pythia", "qwen2", "gemma2"] as const;

interface GoldenIndex {
  cases: { raw: { tl_config: Record<string, unknown>; param_names: string[] } };
  tensors: Record<string, { f64_maxabs: number }>;
}
const index = (folder: string): GoldenIndex => JSON.parse(readFileSync(`${FAMILIES_DIR}/${folder}/index.json`, "utf8"));
const hfConfig = (folder: string): Record<string, unknown> =>
  JSON.parse(readFileSync(`${FAMILIES_DIR}/${folder}/config.json`, "utf8"));

/** TL's snake_case config field → tlens's camelCase one (the fields both have). */
const TL_FIELDS: Record<string, keyof HookedTransformerConfig> = {
  n_layers: "nLayers",
  d_model: "dModel",
  n_ctx: "nCtx",
  d_head: "dHead",
  n_heads: "nHeads",
  d_mlp: "dMlp",
  act_fn: "actFn",
  d_vocab: "dVocab",
  eps: "eps",
  use_attn_result: "useAttnResult",
  use_attn_scale: "useAttnScale",
  attn_scale: "attnScale",
  use_split_qkv_input: "useSplitQkvInput",
  use_hook_mlp_in: "useHookMlpIn",
  use_attn_in: "useAttnIn",
  use_local_attn: "useLocalAttn",
  original_architecture: "originalArchitecture",
  window_size: "windowSize",
  attn_types: "attnTypes",
  normalization_type: "normalizationType",
  attention_dir: "attentionDir",
  attn_only: "attnOnly",
  init_weights: "initWeights",
  scale_attn_by_inverse_layer_idx: "scaleAttnByInverseLayerIdx",
  positional_embedding_type: "positionalEmbeddingType",
  final_rms: "finalRms",
  d_vocab_out: "dVocabOut",
  parallel_attn_mlp: "parallelAttnMlp",
  rotary_dim: "rotaryDim",
  n_params: "nParams",
  use_hook_tokens: "useHookTokens",
  gated_mlp: "gatedMlp",
  default_prepend_bos: "defaultPrependBos",
  n_key_value_heads: "nKeyValueHeads",
  post_embedding_ln: "postEmbeddingLn",
  rotary_base: "rotaryBase",
  rotary_adjacent_pairs: "rotaryAdjacentPairs",
  use_normalization_before_and_after: "useNormalizationBeforeAndAfter",
  attn_scores_soft_cap: "attnScoresSoftCap",
  output_logits_soft_cap: "outputLogitsSoftCap",
  use_NTK_by_parts_rope: "useNTKByPartsRope",
  NTK_by_parts_low_freq_factor: "ntkByPartsLowFreqFactor",
  NTK_by_parts_high_freq_factor: "ntkByPartsHighFreqFactor",
  NTK_by_parts_factor: "ntkByPartsFactor",
  NTK_original_ctx_len: "ntkOriginalCtxLen",
};

describe.each(FOLDERS)("family golden %s", (folder) => {
  const dir = `${FAMILIES_DIR}/${folder}`;

  it("config.json gives TL's HookedTransformerConfig", () => {
    const cfg = hfConfigToTL(hfConfig(folder), `${dir}/config.json`);
    const tl = index(folder).cases.raw.tl_config;
    for (const [snake, camel] of Object.entries(TL_FIELDS)) {
      expect([snake, cfg[camel]]).toEqual([snake, tl[snake]]);
    }
  });

  it("the converted weights are TL's raw parameters (names, shapes, values)", async () => {
    const cfg = hfConfigToTL(hfConfig(folder), `${dir}/config.json`);
    const { tensors } = await readHfSafetensors(dir, "model.safetensors");
    const weights = convertFamilyWeights(tensors, cfg, hfConfig(folder), `${dir}/model.safetensors`);
    expect(tensors.size).toBe(0); // every HF tensor was consumed
    const golden = (await readSafetensorsFile(`${dir}/outputs.safetensors`)).tensors;
    const names = index(folder).cases.raw.param_names;
    expect([...weights.keys()].sort()).toEqual([...names].sort());
    for (const name of names) {
      const want = golden.get(`raw/params/${name}`)!;
      expect([name, maxAbsDiff(weights.get(name)!, want)]).toEqual([name, 0]);
    }
  });
});

describe("family loading through loadHfModelDir", () => {
  it("qwen2 loads (every flag it needs is implemented), without tokenizer files", async () => {
    const { cfg, weights } = await loadHfModelDir(`${FAMILIES_DIR}/qwen2`);
    expect([cfg.originalArchitecture, cfg.nKeyValueHeads, cfg.rotaryBase, cfg.bosTokenId]).toEqual([
      "Qwen2ForCausalLM",
      2,
      1000000,
      511,
    ]);
    expect(weights.get("blocks.0.attn._W_K")!.shape).toEqual([2, 64, 16]);
  });

  it.each([
    ["pythia", "parallelAttnMlp"],
    ["gemma2", "useLocalAttn"],
  ] as const)("%s loads with the feature its family needs (%s) on", async (folder, flag) => {
    const { cfg } = await loadHfModelDir(`${FAMILIES_DIR}/${folder}`);
    expect(cfg[flag]).toBe(true);
  });
});

describe("family weights stored as F16 / BF16", () => {
  it.each([
    ["F16", float16Bits, decodeFloat16],
    ["BF16", bfloat16Bits, decodeBfloat16],
  ] as const)("%s: qwen2's converted weights are TL's rounded to that format", async (dtype, bits, decode) => {
    const dir = mkdtempSync(join(tmpdir(), "tlens-fam-dtype-"));
    copyFileSync(`${FAMILIES_DIR}/qwen2/config.json`, join(dir, "config.json"));
    const { tensors } = await readSafetensorsFile(`${FAMILIES_DIR}/qwen2/model.safetensors`);
    writeFileSync(join(dir, "model.safetensors"), writeSafetensors(tensors, { format: "pt" }, { floatDtype: dtype }));
    const { weights, dtypes } = await loadHfModelDir(dir);
    expect(new Set(dtypes.values())).toEqual(new Set([dtype]));
    const golden = (await readSafetensorsFile(`${FAMILIES_DIR}/qwen2/outputs.safetensors`)).tensors;
    // W_Q is a rearrangement of q_proj, so rounding the golden gives the expected values exactly
    const want = golden.get("raw/params/blocks.1.attn.W_Q")!.dataSync() as Float32Array;
    const rounded = decode(Uint16Array.from(want, (x) => bits(x)));
    expect(Array.from(weights.get("blocks.1.attn.W_Q")!.dataSync())).toEqual(Array.from(rounded));
  });
});

describe("family loads check the weights as they stream", () => {
  it("a NaN weight is refused naming the tensor, unless allowNonFinite", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tlens-fam-nan-"));
    copyFileSync(`${FAMILIES_DIR}/qwen2/config.json`, join(dir, "config.json"));
    const { tensors } = await readSafetensorsFile(`${FAMILIES_DIR}/qwen2/model.safetensors`);
    (tensors.get("model.layers.1.mlp.up_proj.weight")!.dataSync() as Float32Array)[5] = Number.NaN;
    writeFileSync(join(dir, "model.safetensors"), writeSafetensors(tensors, { format: "pt" }));
    await expect(loadHfModelDir(dir)).rejects.toThrow(/model\.layers\.1\.mlp\.up_proj\.weight/);
    const { weights } = await loadHfModelDir(dir, { allowNonFinite: true });
    expect(Number.isNaN(weights.get("blocks.1.mlp.W_in")!.dataSync()[5 * 128])).toBe(true); // up_proj[0, 5] → W_in[5, 0]
  });
});
