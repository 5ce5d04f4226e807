// Conversion steps several families share, each writing TL-named tensors into `out`.
import type { Tensor } from "../../tensor/index.js";
import type { HookedTransformerConfig } from "../config.js";
import { headsIn, type HfStateDict, linearT, vector, zerosF32 } from "./tensors.js";

type Out = Map<string, Tensor>;

/** A LayerNorm with weight and bias: `{hf}.weight/.bias` → `{tl}.w/.b` [d_model]; returns the two arrays. */
export function layerNorm(sd: HfStateDict, out: Out, hf: string, tl: string, D: number): [Float32Array, Float32Array] {
  const w = sd.take(`${hf}.weight`, [D]),
    b = sd.take(`${hf}.bias`, [D]);
  out.set(`${tl}.w`, vector(w, [D]));
  out.set(`${tl}.b`, vector(b, [D]));
  return [w, b];
}

/** One LayerNorm feeding both attention and MLP (GPT-J, Phi): TL stores it as ln1 and a copy as ln2. */
export function sharedLayerNorm(sd: HfStateDict, out: Out, hf: string, block: string, D: number): void {
  const [w, b] = layerNorm(sd, out, hf, `${block}.ln1`, D);
  out.set(`${block}.ln2.w`, vector(w.slice(), [D]));
  out.set(`${block}.ln2.b`, vector(b.slice(), [D]));
}

/** Separate q/k/v nn.Linear layers `{prefix}.{q,k,v}{suffix}` → W_Q/W_K/W_V, with their biases or zeros. */
export function separateQkv(
  sd: HfStateDict,
  out: Out,
  prefix: string,
  block: string,
  cfg: HookedTransformerConfig,
  withBias: boolean,
  suffix = "_proj",
): void {
  const { nHeads: H, dHead: Dh, dModel: D } = cfg;
  for (const letter of ["Q", "K", "V"]) {
    const name = `${prefix}.${letter.toLowerCase()}${suffix}`;
    out.set(`${block}.attn.W_${letter}`, headsIn(sd.take(`${name}.weight`, [H * Dh, D]), H, Dh, D));
    out.set(
      `${block}.attn.b_${letter}`,
      withBias ? vector(sd.take(`${name}.bias`, [H * Dh]), [H, Dh]) : zerosF32([H, Dh]),
    );
  }
}

/** A two-layer MLP of nn.Linear layers with biases: `{inName}` → W_in/b_in, `{outName}` → W_out/b_out. */
export function linearMlp(
  sd: HfStateDict,
  out: Out,
  inName: string,
  outName: string,
  block: string,
  D: number,
  M: number,
): void {
  out.set(`${block}.mlp.W_in`, linearT(sd.take(`${inName}.weight`, [M, D]), M, D));
  out.set(`${block}.mlp.b_in`, vector(sd.take(`${inName}.bias`, [M]), [M]));
  out.set(`${block}.mlp.W_out`, linearT(sd.take(`${outName}.weight`, [D, M]), D, M));
  out.set(`${block}.mlp.b_out`, vector(sd.take(`${outName}.bias`, [D]), [D]));
}

/** lm_head.weight [d_vocab, d_model] → W_U, and its bias (or zeros) → b_U. */
export function lmHead(sd: HfStateDict, out: Out, V: number, D: number, withBias: boolean): void {
  out.set("unembed.W_U", linearT(sd.take("lm_head.weight", [V, D]), V, D));
  out.set("unembed.b_U", withBias ? vector(sd.take("lm_head.bias", [V]), [V]) : zerosF32([V]));
}
