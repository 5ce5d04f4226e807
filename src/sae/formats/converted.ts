// Other libraries' SAE layouts, converted to SAELens's (the state dicts as tensors: read a .pt with torch and save
// it as safetensors first; tlens does not unpickle).
import type { Tensor } from "../../tensor/index.js";
import { SaeError } from "../errors.js";
import { SAE } from "../sae.js";
import type { SaeConfigInput } from "../config.js";

type Options = Pick<SaeConfigInput, "hookName"> & Partial<SaeConfigInput>;

function need(sd: ReadonlyMap<string, Tensor>, name: string, layout: string): Tensor {
  const t = sd.get(name);
  if (!t) throw new SaeError(`${layout} SAE: tensor "${name}" is missing (have ${[...sd.keys()].join(", ")})`);
  return t;
}

/** OpenAI's sparse_autoencoder: encoder.weight [d_sae, d_in], latent_bias [d_sae], decoder.weight [d_in, d_sae],
 *  pre_bias [d_in]; latents = act((x − pre_bias) Wᵀ + latent_bias), recons = latents Dᵀ + pre_bias. TopK when `k`
 *  is given (their TopK activation), else ReLU. */
export function saeFromOpenAi(sd: ReadonlyMap<string, Tensor>, opts: Options): SAE {
  const enc = need(sd, "encoder.weight", "OpenAI");
  const [dSae, dIn] = enc.shape as [number, number];
  return new SAE(
    { architecture: opts.k === undefined ? "standard" : "topk", dIn, dSae, applyBDecToInput: true, ...opts },
    {
      W_enc: enc.mT.contiguous(),
      b_enc: need(sd, "latent_bias", "OpenAI"),
      W_dec: need(sd, "decoder.weight", "OpenAI").mT.contiguous(),
      b_dec: need(sd, "pre_bias", "OpenAI"),
    },
  );
}

/** dictionary_learning's AutoEncoder (encoder.weight [d_sae, d_in], encoder.bias, decoder.weight [d_in, d_sae], bias
 *  `[d_in]`: f = ReLU(enc(x − bias)), x̂ = dec(f) + bias) and AutoEncoderTopK (b_dec for bias, and `k`). */
export function saeFromDictionaryLearning(sd: ReadonlyMap<string, Tensor>, opts: Options): SAE {
  const enc = need(sd, "encoder.weight", "dictionary_learning");
  const [dSae, dIn] = enc.shape as [number, number];
  const kTensor = sd.get("k");
  const k = opts.k ?? (kTensor ? kTensor.item() : undefined);
  const bias = sd.get("bias") ?? need(sd, "b_dec", "dictionary_learning");
  return new SAE(
    {
      architecture: k === undefined ? "standard" : "topk",
      dIn,
      dSae,
      applyBDecToInput: true,
      ...opts,
      ...(k === undefined ? {} : { k }),
    },
    {
      W_enc: enc.mT.contiguous(),
      b_enc: need(sd, "encoder.bias", "dictionary_learning"),
      W_dec: need(sd, "decoder.weight", "dictionary_learning").mT.contiguous(),
      b_dec: bias,
    },
  );
}
