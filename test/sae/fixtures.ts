// Tiny hand-made SAEs (d_in 2, d_sae 3) whose outputs the tests work out by hand.
import { tensor } from "../../src/index.js";
import { SAE, type SaeConfigInput, type SaeWeights } from "../../src/sae/index.js";

/** W_enc [2,3], b_enc [3], W_dec [3,2] (rows e1, e2, e1+e2), b_dec [2]. */
export const tinyWeights = () => ({
  W_enc: tensor([
    [1, 0, -1],
    [0, 2, 1],
  ]),
  b_enc: tensor([0, -1, 0.5]),
  W_dec: tensor([
    [1, 0],
    [0, 1],
    [1, 1],
  ]),
  b_dec: tensor([0.5, -0.5]),
});

export function tinySae(cfg: Partial<SaeConfigInput> = {}, extra: SaeWeights = {}): SAE {
  return new SAE({ dIn: 2, dSae: 3, hookName: "blocks.0.hook_resid_pre", ...cfg }, { ...tinyWeights(), ...extra });
}

/** the identity SAE on 2 dims with b_dec [0.1, 0] and no b_dec subtraction (for the normalisation tests) */
export function identitySae(cfg: Partial<SaeConfigInput>): SAE {
  return new SAE(
    { dIn: 2, dSae: 2, hookName: "blocks.0.hook_resid_pre", applyBDecToInput: false, ...cfg },
    {
      W_enc: tensor([
        [1, 0],
        [0, 1],
      ]),
      b_enc: tensor([0, 0]),
      W_dec: tensor([
        [1, 0],
        [0, 1],
      ]),
      b_dec: tensor([0.1, 0]),
    },
  );
}
