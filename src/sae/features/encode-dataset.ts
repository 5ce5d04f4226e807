// The SAE's features over a token dataset, a chunk of rows at a time (one model run per chunk, no gradient).
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import { noGrad, type Tensor } from "../../tensor/index.js";
import type { SAE } from "../sae.js";

/** Calls `each(acts, row)` with the SAE's activations [chunk, ctx, d_sae] of rows row..row+chunk of tokens [rows, ctx]. */
export async function encodeDataset(
  model: HookedTransformer,
  sae: SAE,
  tokens: Tensor,
  each: (acts: Tensor, row: number) => void,
  rowsPerRun = 64,
): Promise<void> {
  const rows = tokens.shape[0]!;
  await noGrad(async () => {
    for (let r = 0; r < rows; r += rowsPerRun) {
      const chunk = tokens.narrow(0, r, Math.min(rowsPerRun, rows - r));
      const [, cache] = await model.runWithCache(chunk, { namesFilter: [sae.cfg.hookName] });
      each(await sae.encode(cache.get(sae.cfg.hookName)), r);
    }
  });
}
