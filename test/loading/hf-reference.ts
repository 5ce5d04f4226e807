// An independent float64 forward for the HF families without goldens here (Llama incl. Llama-3.1 rope scaling,
// Mistral, Gemma, OPT, Phi, GPT-J), written from Hugging Face's modeling code (modeling_llama / _mistral / _gemma /
// _opt / _phi / _gptj): it reads the HF state dict in nn.Linear layout [out, in] and shares no code with src/, so a
// tlens forward that matches it converted the weights and built the architecture right.
export type HfWeights = ReadonlyMap<string, Float32Array>;

/** One sequence's activations: [T, width] row-major. */
interface Act {
  x: Float64Array;
  T: number;
  width: number;
}

export interface RefConfig {
  D: number;
  H: number;
  Hkv: number;
  Dh: number;
  M: number;
  L: number;
  V: number;
  eps: number;
  /** rotary: inverse frequencies for the first 2·invFreq.length dims of each head */
  invFreq?: Float64Array;
  /** Mistral: key j is visible from query i when i - j < window */
  window?: number;
  act: "silu" | "relu" | "gelu_new" | "gelu_pytorch_tanh";
}

function weight(w: HfWeights, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference: no HF tensor ${name}`);
  return t;
}

/** nn.Linear: y[t, o] = Σ_i x[t, i]·W[o, i] + b[o]. */
function linear(a: Act, w: Float32Array, b: Float32Array | undefined, out: number): Act {
  const y = new Float64Array(a.T * out);
  for (let t = 0; t < a.T; t++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < a.width; i++) s += a.x[t * a.width + i]! * w[o * a.width + i]!;
      y[t * out + o] = s;
    }
  }
  return { x: y, T: a.T, width: out };
}

const lin = (w: HfWeights, a: Act, name: string, out: number, bias: boolean): Act =>
  linear(a, weight(w, `${name}.weight`), bias ? weight(w, `${name}.bias`) : undefined, out);

function layerNorm(a: Act, w: Float32Array, b: Float32Array, eps: number): Act {
  const y = new Float64Array(a.x.length),
    n = a.width;
  for (let t = 0; t < a.T; t++) {
    const row = a.x.subarray(t * n, (t + 1) * n);
    const mean = row.reduce((s, v) => s + v, 0) / n;
    const varr = row.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    for (let i = 0; i < n; i++) y[t * n + i] = ((row[i]! - mean) / Math.sqrt(varr + eps)) * w[i]! + b[i]!;
  }
  return { ...a, x: y };
}

/** LlamaRMSNorm (x·rsqrt(mean x² + eps)·w); GemmaRMSNorm multiplies by (1 + w). */
function rmsNorm(a: Act, w: Float32Array, eps: number, plusOne: boolean): Act {
  const y = new Float64Array(a.x.length),
    n = a.width;
  for (let t = 0; t < a.T; t++) {
    const row = a.x.subarray(t * n, (t + 1) * n);
    const r = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / n + eps);
    for (let i = 0; i < n; i++) y[t * n + i] = row[i]! * r * (plusOne ? 1 + w[i]! : w[i]!);
  }
  return { ...a, x: y };
}

function activate(kind: RefConfig["act"], v: number): number {
  if (kind === "silu") return v / (1 + Math.exp(-v));
  if (kind === "relu") return Math.max(0, v);
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))); // gelu_new = gelu(tanh)
}

const map = (a: Act, f: (v: number, i: number) => number): Act => ({ ...a, x: a.x.map(f) });
const add = (...as: Act[]): Act => map(as[0]!, (v, i) => as.slice(1).reduce((s, b) => s + b.x[i]!, v));

/** HF's default inverse frequencies 1 / base^(2i / dim), i < dim / 2. */
export function ropeInvFreq(dim: number, base: number): Float64Array {
  return Float64Array.from({ length: dim / 2 }, (_, i) => 1 / base ** ((2 * i) / dim));
}

/** HF's `_compute_llama3_parameters` (rope_type "llama3"). */
export function llama3InvFreq(
  inv: Float64Array,
  s: { factor: number; low: number; high: number; oldCtx: number },
): Float64Array {
  const lowWave = s.oldCtx / s.low,
    highWave = s.oldCtx / s.high;
  return inv.map((f) => {
    const wave = (2 * Math.PI) / f;
    if (wave < highWave) return f;
    if (wave > lowWave) return f / s.factor;
    const smooth = (s.oldCtx / wave - s.low) / (s.high - s.low);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

/**
 * Rotary on [T, heads·Dh] in place: rotate_half (Llama/NeoX/Phi: dims i and i + r/2) or rotate_every_two (GPT-J:
 * dims 2i and 2i+1), on the first r = 2·invFreq.length dims of each head, at positions 0..T-1.
 */
function rope(a: Act, heads: number, Dh: number, invFreq: Float64Array, adjacent: boolean): void {
  const half = invFreq.length;
  for (let t = 0; t < a.T; t++) {
    for (let h = 0; h < heads; h++) {
      const base = t * a.width + h * Dh;
      for (let i = 0; i < half; i++) {
        const [p, q] = adjacent ? [base + 2 * i, base + 2 * i + 1] : [base + i, base + i + half];
        const c = Math.cos(t * invFreq[i]!),
          s = Math.sin(t * invFreq[i]!);
        const x1 = a.x[p]!,
          x2 = a.x[q]!;
        a.x[p] = x1 * c - x2 * s;
        a.x[q] = x2 * c + x1 * s;
      }
    }
  }
}

/** Causal softmax attention, query head h reading kv head floor(h / (H / Hkv)); returns [T, H·Dh]. */
function attention(q: Act, k: Act, v: Act, cfg: RefConfig): Act {
  const { H, Hkv, Dh } = cfg,
    T = q.T,
    out = new Float64Array(T * H * Dh);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / Hkv));
    for (let i = 0; i < T; i++) {
      const scores: number[] = [];
      for (let j = 0; j <= i; j++) {
        if (cfg.window !== undefined && i - j >= cfg.window) {
          scores.push(-Infinity);
          continue;
        }
        let s = 0;
        for (let d = 0; d < Dh; d++) s += q.x[i * H * Dh + h * Dh + d]! * k.x[j * Hkv * Dh + g * Dh + d]!;
        scores.push(s / Math.sqrt(Dh));
      }
      const mx = Math.max(...scores),
        e = scores.map((s) => Math.exp(s - mx)),
        z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= i; j++) {
        for (let d = 0; d < Dh; d++) out[i * H * Dh + h * Dh + d]! += (e[j]! / z) * v.x[j * Hkv * Dh + g * Dh + d]!;
      }
    }
  }
  return { x: out, T, width: H * Dh };
}

function embed(w: Float32Array, tokens: readonly number[], D: number, scale = 1): Act {
  const x = new Float64Array(tokens.length * D);
  tokens.forEach((tok, t) => {
    for (let i = 0; i < D; i++) x[t * D + i] = w[tok * D + i]! * scale;
  });
  return { x, T: tokens.length, width: D };
}

/** LlamaForCausalLM / MistralForCausalLM / GemmaForCausalLM (gemma: (1 + w) norms, √D embedding scale, tied). */
export function llamaForward(w: HfWeights, tokens: readonly number[], cfg: RefConfig, gemma: boolean): Float64Array {
  const { D, H, Hkv, Dh, M, V, eps } = cfg;
  const norm = (a: Act, name: string): Act => rmsNorm(a, weight(w, name), eps, gemma);
  let x = embed(weight(w, "model.embed_tokens.weight"), tokens, D, gemma ? Math.sqrt(D) : 1);
  for (let l = 0; l < cfg.L; l++) {
    const p = `model.layers.${l}`,
      a = `${p}.self_attn`;
    const h = norm(x, `${p}.input_layernorm.weight`);
    const q = lin(w, h, `${a}.q_proj`, H * Dh, w.has(`${a}.q_proj.bias`));
    const k = lin(w, h, `${a}.k_proj`, Hkv * Dh, w.has(`${a}.k_proj.bias`));
    const v = lin(w, h, `${a}.v_proj`, Hkv * Dh, w.has(`${a}.v_proj.bias`));
    rope(q, H, Dh, cfg.invFreq!, false);
    rope(k, Hkv, Dh, cfg.invFreq!, false);
    x = add(x, lin(w, attention(q, k, v, cfg), `${a}.o_proj`, D, false));
    const m = norm(x, `${p}.post_attention_layernorm.weight`);
    const gate = lin(w, m, `${p}.mlp.gate_proj`, M, false),
      up = lin(w, m, `${p}.mlp.up_proj`, M, false);
    x = add(
      x,
      lin(
        w,
        map(gate, (g, i) => activate(cfg.act, g) * up.x[i]!),
        `${p}.mlp.down_proj`,
        D,
        false,
      ),
    );
  }
  x = norm(x, "model.norm.weight");
  return linear(x, w.get("lm_head.weight") ?? weight(w, "model.embed_tokens.weight"), undefined, V).x;
}

/** OPTForCausalLM (pre-LN): learned positions at offset 2, ReLU MLP, the unembedding tied to embed_tokens. */
export function optForward(w: HfWeights, tokens: readonly number[], cfg: RefConfig): Float64Array {
  const { D, M, V, eps } = cfg,
    d = "model.decoder";
  const ln = (a: Act, name: string): Act => layerNorm(a, weight(w, `${name}.weight`), weight(w, `${name}.bias`), eps);
  const pos = embed(
    weight(w, `${d}.embed_positions.weight`),
    tokens.map((_, t) => t + 2),
    D,
  );
  let x = add(embed(weight(w, `${d}.embed_tokens.weight`), tokens, D), pos);
  for (let l = 0; l < cfg.L; l++) {
    const p = `${d}.layers.${l}`,
      a = `${p}.self_attn`;
    const h = ln(x, `${p}.self_attn_layer_norm`);
    const [q, k, v] = ["q", "k", "v"].map((n) => lin(w, h, `${a}.${n}_proj`, D, true));
    x = add(x, lin(w, attention(q!, k!, v!, cfg), `${a}.out_proj`, D, true));
    const m = lin(w, ln(x, `${p}.final_layer_norm`), `${p}.fc1`, M, true);
    x = add(
      x,
      lin(
        w,
        map(m, (u) => activate("relu", u)),
        `${p}.fc2`,
        D,
        true,
      ),
    );
  }
  return linear(ln(x, `${d}.final_layer_norm`), weight(w, `${d}.embed_tokens.weight`), undefined, V).x;
}

/** Parallel attention + MLP from one LN: PhiForCausalLM (rotate_half, biases) or GPTJForCausalLM (every-two pairs). */
export function parallelForward(
  w: HfWeights,
  tokens: readonly number[],
  cfg: RefConfig,
  kind: "phi" | "gptj",
): Float64Array {
  const { D, H, Dh, M, V, eps } = cfg;
  const n =
    kind === "phi"
      ? {
          emb: "model.embed_tokens",
          layer: "model.layers",
          ln: "input_layernorm",
          attn: "self_attn",
          out: "dense",
          fc1: "fc1",
          fc2: "fc2",
          fin: "model.final_layernorm",
        }
      : {
          emb: "transformer.wte",
          layer: "transformer.h",
          ln: "ln_1",
          attn: "attn",
          out: "out_proj",
          fc1: "fc_in",
          fc2: "fc_out",
          fin: "transformer.ln_f",
        };
  const ln = (a: Act, name: string): Act => layerNorm(a, weight(w, `${name}.weight`), weight(w, `${name}.bias`), eps);
  let x = embed(weight(w, `${n.emb}.weight`), tokens, D);
  for (let l = 0; l < cfg.L; l++) {
    const p = `${n.layer}.${l}`,
      a = `${p}.${n.attn}`,
      h = ln(x, `${p}.${n.ln}`);
    const [q, k, v] = ["q", "k", "v"].map((c) => lin(w, h, `${a}.${c}_proj`, H * Dh, kind === "phi"));
    rope(q!, H, Dh, cfg.invFreq!, kind === "gptj");
    rope(k!, H, Dh, cfg.invFreq!, kind === "gptj");
    const att = lin(w, attention(q!, k!, v!, cfg), `${a}.${n.out}`, D, kind === "phi");
    const mid = lin(w, h, `${p}.mlp.${n.fc1}`, M, true);
    x = add(
      x,
      att,
      lin(
        w,
        map(mid, (u) => activate(cfg.act, u)),
        `${p}.mlp.${n.fc2}`,
        D,
        true,
      ),
    );
  }
  return linear(ln(x, n.fin), weight(w, "lm_head.weight"), weight(w, "lm_head.bias"), V).x;
}
