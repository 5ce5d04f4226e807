// Evaluation of a trained SAE on token rows: the next-token loss with the SAE's reconstruction spliced in at its
// hook, against the clean model's and with the hook's activation zero-ablated (SAELens's ce_loss_score =
// (zero − spliced) / (zero − clean)), and the reconstruction's variance explained and L0 there.
import { noGrad, Tensor, zerosLike } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { SaeParams } from "./params.js";
import type { Sparsity } from "./sae-step.js";

export interface SaeEvaluation {
  cleanLoss: number;
  splicedLoss: number;
  zeroAblatedLoss: number;
  /** (zero − spliced) / (zero − clean): 1 = the SAE loses nothing */
  ceLossRecovered: number;
  varianceExplained: number;
  l0: number;
}

/** The SAE's features of activations x [..., d_in] → [..., d_sae]. */
export function encodeWith(p: SaeParams, sparsity: Sparsity, x: Tensor): Tensor {
  const W_enc = Tensor.fromTypedArray(p.W_enc, [p.dIn, p.dSae]);
  const pre = x.sub(Tensor.fromTypedArray(p.b_dec, [p.dIn])).matmul(W_enc).add(Tensor.fromTypedArray(p.b_enc, [p.dSae]));
  if (sparsity.kind === "l1") return pre.relu();
  // TopK: relu of the k largest, zeros elsewhere
  const { values, indices } = pre.topk(sparsity.k, -1);
  return zerosLike(pre).scatter(-1, indices, values.relu());
}

/** Reconstruction f [..., d_sae] → [..., d_in]. */
export function decodeWith(p: SaeParams, f: Tensor): Tensor {
  return f.matmul(Tensor.fromTypedArray(p.W_dec, [p.dSae, p.dIn])).add(Tensor.fromTypedArray(p.b_dec, [p.dIn]));
}

/** Evaluates the SAE at hookName on token rows [rows, ctx]. */
export async function evaluateSae(model: HookedTransformer, p: SaeParams, sparsity: Sparsity, hookName: string, tokens: Tensor): Promise<SaeEvaluation> {
  return noGrad(async () => {
    const loss = async (replace: ((a: Tensor) => Tensor) | null): Promise<number> => {
      const out = replace
        ? await model.runWithHooks(tokens, { returnType: "loss", fwdHooks: [[hookName, (a: Tensor) => replace(a)]] })
        : (await model.forward(tokens, { returnType: "loss" })) as Tensor;
      return out.item();
    };
    let ve = 0, l0 = 0;
    const splicedLoss = await loss((a) => {
      const f = encodeWith(p, sparsity, a);
      const recon = decodeWith(p, f);
      // over every position but the first (the BOS row the store leaves out)
      const x = a.narrow(1, 1, a.shape[1] - 1), r = recon.narrow(1, 1, a.shape[1] - 1);
      const centred = x.sub(x.reshape(-1, p.dIn).mean(0));
      ve = 1 - r.sub(x).square().sum().item() / centred.square().sum().item();
      l0 = f.narrow(1, 1, a.shape[1] - 1).gt(0).to("float32").sum(-1).mean().item();
      return recon;
    });
    const cleanLoss = await loss(null);
    const zeroAblatedLoss = await loss((a) => zerosLike(a));
    return { cleanLoss, splicedLoss, zeroAblatedLoss, ceLossRecovered: (zeroAblatedLoss - splicedLoss) / (zeroAblatedLoss - cleanLoss), varianceExplained: ve, l0 };
  });
}
