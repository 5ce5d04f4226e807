// Hugging Face GPT-2 weights → TransformerLens parameter names and layouts (TL's `convert_gpt2_weights`).
// Pure (no Node built-ins).
//
// HF GPT-2 uses Conv1D, whose weight is [in, out] (x @ W), so no transposes are needed except for an untied
// `lm_head.weight` (nn.Linear, [vocab, d_model]). c_attn's columns are q | k | v, each head-major (head, d_head).
import { LoadError } from "../errors.js";
import { Tensor } from "../tensor/index.js";
import type { HookedTransformerConfig } from "./config.js";
import { transpose2d } from "./families/tensors.js";

export interface ConvertGpt2Options {
  /**
   * HF `tie_word_embeddings` (`hfConfigExtras`). Default true: with no `lm_head.weight` the unembedding is `wte`.
   * When false, a missing `lm_head.weight` is an error.
   */
  tieWordEmbeddings?: boolean;
  /**
   * What to do with keys that are not GPT-2 parameters (after the ignored `attn.bias`/`attn.masked_bias` buffers):
   * "error" (default: the file is probably not the model the config describes) or "ignore".
   */
  extraKeys?: "error" | "ignore";
}

const fmt = (s: readonly number[]): string => `[${s.join(", ")}]`;

/**
 * Converts an HF GPT-2 state dict (keys with or without the `transformer.` prefix) into TL's state dict:
 *
 * - `embed.W_E` [d_vocab, d_model], `pos_embed.W_pos` [n_ctx, d_model]
 * - `blocks.{l}.ln1.w/b` [d_model]
 * - `blocks.{l}.attn.W_Q/W_K/W_V` [n_heads, d_model, d_head], `b_Q/b_K/b_V` [n_heads, d_head],
 *   `W_O` [n_heads, d_head, d_model], `b_O` [d_model]
 * - `blocks.{l}.ln2.w/b`, `blocks.{l}.mlp.W_in` [d_model, d_mlp], `b_in` [d_mlp], `W_out` [d_mlp, d_model], `b_out`
 * - `ln_final.w/b` [d_model], `unembed.W_U` [d_model, d_vocab_out], `unembed.b_U` [d_vocab_out] (zeros, as TL's
 *   fill_missing_keys adds them)
 *
 * Every output is a new contiguous float32 tensor with its own storage (weight processing may edit them in place).
 * A missing tensor, a wrong shape or a non-float dtype is a LoadError naming the key and both shapes.
 */
export function convertGpt2Weights(
  hf: Map<string, Tensor>,
  cfg: HookedTransformerConfig,
  source: string,
  options: ConvertGpt2Options = {},
): Map<string, Tensor> {
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V, nCtx: C } = cfg;
  const Vout = cfg.dVocabOut;

  // Normalise key names: strip "transformer."; refuse a key present both with and without the prefix.
  const byName = new Map<string, { key: string; t: Tensor }>();
  for (const [key, t] of hf) {
    const name = key.startsWith("transformer.") ? key.slice("transformer.".length) : key;
    const prev = byName.get(name);
    if (prev) throw new LoadError(`${source}: both "${prev.key}" and "${key}" are present; which one is the weight?`);
    byName.set(name, { key, t });
  }
  const used = new Set<string>();
  const get = (name: string, shape: readonly number[]): Float32Array => {
    const hit = byName.get(name);
    if (!hit) {
      throw new LoadError(
        `${source}: missing tensor "${name}" (or "transformer.${name}"), expected shape ${fmt(shape)}`,
      );
    }
    used.add(name);
    const { key, t } = hit;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new LoadError(
        `${source}: tensor "${key}" has shape ${fmt(t.shape)}, expected ${fmt(shape)} from the config`,
      );
    }
    if (t.dtype !== "float32" && t.dtype !== "float64") {
      throw new LoadError(`${source}: tensor "${key}" has dtype ${t.dtype}, expected floating point weights`);
    }
    return t.to("float32").dataSync() as Float32Array;
  };
  const copy = (src: Float32Array, shape: readonly number[]): Tensor => Tensor.fromTypedArray(src.slice(), shape);
  const matrix = (t: Tensor): Tensor => {
    t.storage.reusable = true;
    return t;
  };

  const out = new Map<string, Tensor>();
  out.set("embed.W_E", copy(get("wte.weight", [V, D]), [V, D]));
  out.set("pos_embed.W_pos", copy(get("wpe.weight", [C, D]), [C, D]));

  for (let l = 0; l < L; l++) {
    const h = `h.${l}`;
    const b = `blocks.${l}`;
    out.set(`${b}.ln1.w`, copy(get(`${h}.ln_1.weight`, [D]), [D]));
    out.set(`${b}.ln1.b`, copy(get(`${h}.ln_1.bias`, [D]), [D]));

    // c_attn.weight [D, 3·H·Dh]: column (part, head, d) → W_part[head, row, d]
    const W = get(`${h}.attn.c_attn.weight`, [D, 3 * H * Dh]);
    const cols = 3 * H * Dh;
    for (const [part, letter] of ["Q", "K", "V"].entries()) {
      const w = new Float32Array(H * D * Dh);
      for (let head = 0; head < H; head++) {
        for (let row = 0; row < D; row++) {
          const srcBase = row * cols + part * H * Dh + head * Dh;
          const dstBase = (head * D + row) * Dh;
          for (let d = 0; d < Dh; d++) w[dstBase + d] = W[srcBase + d]!;
        }
      }
      out.set(`${b}.attn.W_${letter}`, matrix(Tensor.fromTypedArray(w, [H, D, Dh])));
    }
    const qkvBias = get(`${h}.attn.c_attn.bias`, [3 * H * Dh]);
    for (const [part, letter] of ["Q", "K", "V"].entries()) {
      out.set(`${b}.attn.b_${letter}`, copy(qkvBias.subarray(part * H * Dh, (part + 1) * H * Dh), [H, Dh]));
    }
    // c_proj.weight [H·Dh, D] is already (head, d_head) × d_model, row-major.
    out.set(`${b}.attn.W_O`, matrix(copy(get(`${h}.attn.c_proj.weight`, [H * Dh, D]), [H, Dh, D])));
    out.set(`${b}.attn.b_O`, copy(get(`${h}.attn.c_proj.bias`, [D]), [D]));

    out.set(`${b}.ln2.w`, copy(get(`${h}.ln_2.weight`, [D]), [D]));
    out.set(`${b}.ln2.b`, copy(get(`${h}.ln_2.bias`, [D]), [D]));
    out.set(`${b}.mlp.W_in`, matrix(copy(get(`${h}.mlp.c_fc.weight`, [D, M]), [D, M])));
    out.set(`${b}.mlp.b_in`, copy(get(`${h}.mlp.c_fc.bias`, [M]), [M]));
    out.set(`${b}.mlp.W_out`, matrix(copy(get(`${h}.mlp.c_proj.weight`, [M, D]), [M, D])));
    out.set(`${b}.mlp.b_out`, copy(get(`${h}.mlp.c_proj.bias`, [D]), [D]));
    used.add(`${h}.attn.bias`).add(`${h}.attn.masked_bias`); // causal-mask buffers, not parameters
  }

  // Unembedding: lm_head.weight [Vout, D] (nn.Linear) transposed, or wte when tied.
  let U: Float32Array;
  if (byName.has("lm_head.weight")) {
    U = get("lm_head.weight", [Vout, D]);
  } else if (options.tieWordEmbeddings === false) {
    throw new LoadError(
      `${source}: missing tensor "lm_head.weight" [${Vout}, ${D}] and the config says tie_word_embeddings is false`,
    );
  } else {
    U = get("wte.weight", [Vout, D]);
  }
  const WU = transpose2d(U, Vout, D);

  out.set("ln_final.w", copy(get("ln_f.weight", [D]), [D]));
  out.set("ln_final.b", copy(get("ln_f.bias", [D]), [D]));
  out.set("unembed.W_U", matrix(Tensor.fromTypedArray(WU, [D, Vout])));
  out.set("unembed.b_U", Tensor.fromTypedArray(new Float32Array(Vout), [Vout]));

  if (options.extraKeys !== "ignore") {
    const extra = [...byName.entries()].filter(([name]) => !used.has(name)).map(([, { key }]) => key);
    if (extra.length > 0) {
      const shown = extra
        .slice(0, 8)
        .map((k) => `"${k}"`)
        .join(", ");
      throw new LoadError(
        `${source}: ${extra.length} unexpected tensor(s) for a ${L}-layer GPT-2: ${shown}${extra.length > 8 ? ", ..." : ""} ` +
          `(does config.json describe this file? pass extraKeys: "ignore" to load anyway)`,
      );
    }
  }
  return out;
}
