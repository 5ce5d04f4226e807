// TransformerLens's weight processing on a TL-named state dict: fold_ln, center_writing_weights,
// center_unembed, fold_value_biases, refactor_factored_attn_matrices. Each returns a new map; inputs are untouched.
import type { HookedTransformerConfig } from "../loading/config.js";
import { ModelError } from "../errors.js";
import { cat, type Tensor } from "../tensor/index.js";
import { svd } from "../tensor/linalg.js";

export type StateDict = Map<string, Tensor>;

export interface ProcessOptions {
  foldLn?: boolean;
  centerWritingWeights?: boolean;
  centerUnembed?: boolean;
  foldValueBiases?: boolean;
  refactorFactoredAttnMatrices?: boolean;
}

function req(sd: StateDict, key: string): Tensor {
  const t = sd.get(key);
  if (!t) throw new ModelError(`weight processing: missing parameter "${key}"`);
  return t;
}

/** x - mean over `dim` (keepdim). */
function centre(t: Tensor, dim: number): Tensor {
  return t.sub(t.mean(dim, true));
}

/** Folds each LayerNorm's weight and bias into the weights that read from it, and centres those reading weights
 *  (LN's mean subtraction makes the mean direction invisible). Removes the ln parameters. */
export function foldLayerNorm(sd: StateDict, cfg: HookedTransformerConfig, centerWeights = true): StateDict {
  const out = new Map(sd);
  const fold = (
    lnPrefix: string,
    targets: { W: string; b: string; noCentre?: boolean }[],
    lnHasBias: boolean,
  ): void => {
    const w = out.get(`${lnPrefix}.w`);
    if (!w) return;
    const b = lnHasBias ? out.get(`${lnPrefix}.b`) : undefined;
    for (const { W, b: bKey, noCentre } of targets) {
      const weight = req(out, W); // [..., d_model, d_out]
      if (b && bKey) {
        // b' = b + ln.b @ W (contracting d_model)
        const shift = b.unsqueeze(-1).mul(weight).sum(-2);
        out.set(bKey, req(out, bKey).add(shift));
      }
      let folded = weight.mul(w.unsqueeze(-1));
      if (centerWeights && !noCentre) folded = centre(folded, -2);
      out.set(W, folded);
    }
    out.delete(`${lnPrefix}.w`);
    out.delete(`${lnPrefix}.b`);
  };
  const hasBias = cfg.normalizationType === "LN";
  for (let l = 0; l < cfg.nLayers; l++) {
    const a = `blocks.${l}.attn`;
    // grouped-query attention stores TL's _W_K/_W_V/_b_K/_b_V [n_kv_heads, ...]
    const g = (x: string): string => (x !== "Q" && out.has(`${a}._W_${x}`) ? "_" : "");
    fold(
      `blocks.${l}.ln1`,
      ["Q", "K", "V"].map((x) => ({ W: `${a}.${g(x)}W_${x}`, b: `${a}.${g(x)}b_${x}` })),
      hasBias,
    );
    if (!cfg.attnOnly) {
      const m = `blocks.${l}.mlp`;
      // gated MLPs read ln2 through W_in and W_gate; as TL, W_gate only gets the scale (no bias, no centring)
      const targets = [
        { W: `${m}.W_in`, b: `${m}.b_in` },
        ...(out.has(`${m}.W_gate`) ? [{ W: `${m}.W_gate`, b: "", noCentre: true }] : []),
      ];
      fold(`blocks.${l}.ln2`, targets, hasBias);
    }
  }
  fold("ln_final", [{ W: "unembed.W_U", b: "unembed.b_U" }], hasBias);
  return out;
}

/** Centres every weight that writes to the residual stream (and its bias) over d_model. */
export function centerWritingWeights(sd: StateDict, cfg: HookedTransformerConfig): StateDict {
  const out = new Map(sd);
  out.set("embed.W_E", centre(req(out, "embed.W_E"), -1));
  if (cfg.positionalEmbeddingType !== "rotary" && out.has("pos_embed.W_pos")) {
    out.set("pos_embed.W_pos", centre(req(out, "pos_embed.W_pos"), -1));
  }
  for (let l = 0; l < cfg.nLayers; l++) {
    const a = `blocks.${l}.attn`;
    out.set(`${a}.W_O`, centre(req(out, `${a}.W_O`), -1));
    out.set(`${a}.b_O`, centre(req(out, `${a}.b_O`), -1));
    if (!cfg.attnOnly) {
      const m = `blocks.${l}.mlp`;
      out.set(`${m}.W_out`, centre(req(out, `${m}.W_out`), -1));
      out.set(`${m}.b_out`, centre(req(out, `${m}.b_out`), -1));
    }
  }
  return out;
}

/** Centres the unembedding over the vocabulary (softmax is shift invariant; logits shift by a constant). */
export function centerUnembed(sd: StateDict): StateDict {
  const out = new Map(sd);
  out.set("unembed.W_U", centre(req(out, "unembed.W_U"), -1));
  out.set("unembed.b_U", centre(req(out, "unembed.b_U"), -1));
  return out;
}

/** Moves the value biases into b_O (each pattern row sums to 1, so b_V W_O is a constant output). Under
 *  grouped-query attention TL's _b_V [n_kv_heads, d_head] is repeated per query head first. */
export function foldValueBiases(sd: StateDict, cfg: HookedTransformerConfig): StateDict {
  const out = new Map(sd);
  for (let l = 0; l < cfg.nLayers; l++) {
    const a = `blocks.${l}.attn`;
    const key = out.has(`${a}._b_V`) ? `${a}._b_V` : `${a}.b_V`;
    const stored = req(out, key); // [head or kv_head, d_head]
    const WO = req(out, `${a}.W_O`); // [head, d_head, d_model]
    const rep = WO.shape[0]! / stored.shape[0]!;
    const bV =
      rep === 1
        ? stored
        : stored.unsqueeze(1).expand(stored.shape[0]!, rep, stored.shape[1]!).reshape(WO.shape[0]!, stored.shape[1]!);
    out.set(`${a}.b_O`, req(out, `${a}.b_O`).add(bV.unsqueeze(-1).mul(WO).sum([0, 1])));
    out.set(key, stored.mul(0));
  }
  return out;
}

/** U, S, Vh of A @ B for batches of thin factors A [..., m, r], B [..., r, n], without forming A @ B
 *  (TL's FactoredMatrix.svd). */
function factoredSvd(A: Tensor, B: Tensor): { U: Tensor; S: Tensor; Vh: Tensor } {
  const a = svd(A);
  const inner = svd(a.S.unsqueeze(-1).mul(a.Vh).matmul(B));
  return { U: a.U.matmul(inner.U), S: inner.S, Vh: inner.Vh };
}

/** Rewrites W_Q/W_K (with biases as an extra row) and W_V/W_O as balanced SVD factors of QK and OV: the circuits
 *  are unchanged, the factors get equal singular values (TL's refactor_factored_attn_matrices). */
export function refactorFactoredAttnMatrices(sd: StateDict, cfg: HookedTransformerConfig): StateDict {
  if (cfg.positionalEmbeddingType === "rotary")
    throw new ModelError("refactor_factored_attn_matrices does not support rotary models");
  const out = new Map(sd);
  for (let l = 0; l < cfg.nLayers; l++) {
    const a = `blocks.${l}.attn`;
    // [head, d_model + 1, d_head]: the bias as an extra input row
    const Wq = cat([req(out, `${a}.W_Q`), req(out, `${a}.b_Q`).unsqueeze(1)], 1);
    const Wk = cat([req(out, `${a}.W_K`), req(out, `${a}.b_K`).unsqueeze(1)], 1);
    const qk = factoredSvd(Wq, Wk.transpose(-1, -2));
    const sqrtS = qk.S.sqrt();
    const WqEven = qk.U.mul(sqrtS.unsqueeze(-2));
    const WkEven = qk.Vh.transpose(-1, -2).mul(sqrtS.unsqueeze(-2));
    const dModel = cfg.dModel;
    out.set(`${a}.W_Q`, WqEven.narrow(1, 0, dModel).contiguous());
    out.set(`${a}.b_Q`, WqEven.get(":", dModel).contiguous());
    out.set(`${a}.W_K`, WkEven.narrow(1, 0, dModel).contiguous());
    out.set(`${a}.b_K`, WkEven.get(":", dModel).contiguous());

    const WV = req(out, `${a}.W_V`);
    const WO = req(out, `${a}.W_O`);
    const bV = req(out, `${a}.b_V`);
    out.set(`${a}.b_O`, req(out, `${a}.b_O`).add(bV.unsqueeze(-1).mul(WO).sum([0, 1])));
    out.set(`${a}.b_V`, bV.mul(0));
    const ov = factoredSvd(WV, WO);
    out.set(`${a}.W_V`, ov.U.mul(ov.S.unsqueeze(-2)).contiguous());
    out.set(`${a}.W_O`, ov.Vh.contiguous());
  }
  return out;
}

/** fromPretrained's flags: TL's defaults (fold_ln, center_writing_weights, center_unembed, fold_value_biases on,
 *  refactor off) under the caller's, then TL's override: a model with output_logits_soft_cap gets no
 *  center_unembed (the cap is not shift invariant, so centring would change its logits). */
export function pretrainedProcessing(cfg: HookedTransformerConfig, opts: ProcessOptions): Required<ProcessOptions> {
  const o = {
    foldLn: true,
    centerWritingWeights: true,
    centerUnembed: true,
    foldValueBiases: true,
    refactorFactoredAttnMatrices: false,
    ...opts,
  };
  if (cfg.outputLogitsSoftCap > 0) o.centerUnembed = false;
  return o;
}

/** TL's process_weights order; fold_ln only applies to LN/RMS models (RMS: weights only, no centring, as TL). */
export function processStateDict(sd: StateDict, cfg: HookedTransformerConfig, opts: ProcessOptions): StateDict {
  let out = sd;
  if (opts.foldLn && cfg.normalizationType === "LN") out = foldLayerNorm(out, cfg);
  if (opts.foldLn && cfg.normalizationType === "RMS") out = foldLayerNorm(out, cfg, false);
  if (
    opts.centerWritingWeights &&
    cfg.normalizationType !== "RMS" &&
    cfg.normalizationType !== "RMSPre" &&
    !cfg.finalRms
  ) {
    out = centerWritingWeights(out, cfg);
  }
  if (opts.centerUnembed) out = centerUnembed(out);
  if (opts.foldValueBiases) out = foldValueBiases(out, cfg);
  if (opts.refactorFactoredAttnMatrices) out = refactorFactoredAttnMatrices(out, cfg);
  return out;
}
