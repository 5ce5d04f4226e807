// llm-viz (bbycroft.net/llm) model JSON → a TransformerLens GPT-2 config and state dict. Pure (no Node built-ins):
// pass the parsed JSON.
//
// The file: `config` (minGPT's: n_layer, n_head, n_embd, vocab_size, block_size, ...) and one entry per tensor,
// named as Hugging Face's GPT-2 (`transformer.wte.weight`, `transformer.h.{i}.attn.c_attn.weight`, ...,
// `lm_head.weight`), each `{ shape, dtype, data }` with `data` base64 of little-endian float32. The layout is minGPT's
// nn.Linear [out, in] (not HF's Conv1D [in, out]); `lm_head` is untied and has no bias; `attn.bias` entries are
// causal-mask buffers. minGPT's GELU is gelu_new and its LayerNorm eps 1e-5.
import { LoadError } from "../errors.js";
import { Tensor } from "../tensor/index.js";
import { makeConfig, type HookedTransformerConfig } from "./config.js";
import { convertGpt2Weights } from "./gpt2.js";

interface JsonTensor {
  shape: number[];
  dtype?: string;
  data: string;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = (() => {
  const t = new Int16Array(256).fill(-1);
  for (let i = 0; i < B64.length; i++) t[B64.charCodeAt(i)] = i;
  t["-".charCodeAt(0)] = 62; // base64url
  t["_".charCodeAt(0)] = 63;
  return t;
})();

/** Standard (or URL-safe) base64 → bytes; whitespace and padding ignored, anything else is an error. */
export function decodeBase64(s: string, what = "base64"): Uint8Array {
  const out = new Uint8Array(Math.floor((s.length * 3) / 4) + 3);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 61 /* = */ || c === 32 || c === 10 || c === 13 || c === 9) continue;
    const v = c < 256 ? B64_INDEX[c]! : -1;
    if (v < 0) throw new LoadError(`${what}: invalid base64 character ${JSON.stringify(s[i])} at ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

const DTYPES: Record<string, "f32" | "f64"> = {
  "torch.float32": "f32",
  float32: "f32",
  f32: "f32",
  "torch.float64": "f64",
  float64: "f64",
  f64: "f64",
};

/** One `{shape, dtype, data}` entry → a float32 tensor (the dtype must be float32 or float64). */
export function decodeJsonTensor(entry: unknown, name: string, source: string): Tensor {
  const e = entry as Partial<JsonTensor> | null;
  if (!e || typeof e !== "object" || !Array.isArray(e.shape) || typeof e.data !== "string") {
    throw new LoadError(`${source}: "${name}" is not a {shape, dtype, data} tensor entry`);
  }
  if (!e.shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new LoadError(`${source}: "${name}" has an invalid shape ${JSON.stringify(e.shape)}`);
  const kind = DTYPES[e.dtype ?? "float32"];
  if (!kind)
    throw new LoadError(`${source}: "${name}" has dtype ${JSON.stringify(e.dtype)}; float32 or float64 expected`);
  const bytes = decodeBase64(e.data, `${source}: "${name}"`);
  const n = e.shape.reduce((a, b) => a * b, 1);
  const width = kind === "f32" ? 4 : 8;
  if (bytes.length !== n * width) {
    throw new LoadError(
      `${source}: "${name}" holds ${bytes.length} bytes, its shape [${e.shape.join(", ")}] needs ${n * width}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = kind === "f32" ? view.getFloat32(4 * i, true) : view.getFloat64(8 * i, true);
  return Tensor.fromTypedArray(out, e.shape);
}

/** The TL config of an llm-viz / minGPT model (GPT-2 architecture). */
export function llmvizConfig(
  config: Record<string, unknown>,
  source: string,
  modelName?: string,
): HookedTransformerConfig {
  const num = (k: string): number => {
    const v = config[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
      throw new LoadError(`${source}: config.${k} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const nEmbd = num("n_embd");
  return makeConfig(
    {
      modelName: modelName ?? (typeof config.model_type === "string" ? config.model_type : "llm-viz"),
      originalArchitecture: "GPT2LMHeadModel",
      nLayers: num("n_layer"),
      nHeads: num("n_head"),
      dModel: nEmbd,
      dMlp: 4 * nEmbd,
      dVocab: num("vocab_size"),
      nCtx: num("block_size"),
      actFn: "gelu_new",
      eps: 1e-5,
      normalizationType: "LN",
      positionalEmbeddingType: "standard",
      // token ids only: no tokenizer, so no BOS either
      defaultPrependBos: false,
      tieWordEmbeddings: false,
    },
    source,
  );
}

/** nn.Linear weights in the file, which HF's GPT-2 stores as Conv1D [in, out]. */
const LINEAR = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;

/** Parses an llm-viz model JSON (already JSON.parse'd) into the TL config and TL-named float32 parameters. */
export function parseLlmvizModel(
  json: unknown,
  opts: { source?: string; modelName?: string } = {},
): { cfg: HookedTransformerConfig; weights: Map<string, Tensor> } {
  const source = opts.source ?? "llm-viz model";
  if (!json || typeof json !== "object" || Array.isArray(json))
    throw new LoadError(`${source}: expected a JSON object with "config" and tensors`);
  const obj = json as Record<string, unknown>;
  const config = obj.config;
  if (!config || typeof config !== "object") throw new LoadError(`${source}: no "config" object`);
  const cfg = llmvizConfig(config as Record<string, unknown>, source, opts.modelName);
  const hf = new Map<string, Tensor>();
  for (const [name, entry] of Object.entries(obj)) {
    if (name === "config") continue;
    let t = decodeJsonTensor(entry, name, source);
    if (LINEAR.test(name)) {
      if (t.ndim !== 2)
        throw new LoadError(
          `${source}: "${name}" has shape [${t.shape.join(", ")}], expected an nn.Linear [out, in] matrix`,
        );
      t = t.transpose(0, 1).contiguous(); // → Conv1D [in, out]
    }
    hf.set(name, t);
  }
  const weights = convertGpt2Weights(hf, cfg, source, { tieWordEmbeddings: false });
  return { cfg, weights };
}
