// Evaluation of a trained SAE on token rows: the next-token loss with the SAE's reconstruction spliced in at its
// hook, against the clean model's and with the hook's activation zero-ablated (SAELens's ce_loss_score =
// (zero − spliced) / (zero − clean)), and the reconstruction's variance explained and L0 there.
import { noGrad, zerosLike, type Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { SAE } from "../sae.js";

export interface SaeEvaluation {
  cleanLoss: number;
  splicedLoss: number;
  zeroAblatedLoss: number;
  /** (zero − spliced) / (zero − clean): 1 = the SAE loses nothing */
  ceLossRecovered: number;
  varianceExplained: number;
  l0: number;
}

/** Evaluates the SAE at its hook (cfg.hookName) on token rows [rows, ctx]. */
export async function evaluateSae(model: HookedTransformer, sae: SAE, tokens: Tensor): Promise<SaeEvaluation> {
  const hookName = sae.cfg.hookName,
    dIn = sae.cfg.dIn;
  return noGrad(async () => {
    const loss = async (replace: ((a: Tensor) => Tensor | Promise<Tensor>) | null): Promise<number> => {
      const out = replace
        ? await model.runWithHooks(tokens, { returnType: "loss", fwdHooks: [[hookName, (a: Tensor) => replace(a)]] })
        : ((await model.forward(tokens, { returnType: "loss" })) as Tensor);
      return out.item();
    };
    let ve = 0,
      l0 = 0;
    const splicedLoss = await loss(async (a) => {
      const f = await sae.encode(a);
      const recon = await sae.decode(f);
      // over every position but the first (the BOS row the store leaves out)
      const x = a.narrow(1, 1, a.shape[1]! - 1),
        r = recon.narrow(1, 1, a.shape[1]! - 1);
      const centred = x.sub(x.reshape(-1, dIn).mean(0));
      ve = 1 - r.sub(x).square().sum().item() / centred.square().sum().item();
      l0 = f
        .narrow(1, 1, a.shape[1]! - 1)
        .gt(0)
        .to("float32")
        .sum(-1)
        .mean()
        .item();
      return recon;
    });
    const cleanLoss = await loss(null);
    const zeroAblatedLoss = await loss((a) => zerosLike(a));
    return {
      cleanLoss,
      splicedLoss,
      zeroAblatedLoss,
      ceLossRecovered: (zeroAblatedLoss - splicedLoss) / (zeroAblatedLoss - cleanLoss),
      varianceExplained: ve,
      l0,
    };
  });
}
