// Builds an ONNX graph of a GPT-2-shaped tlens model (LNPre, gelu_new, learned positions) from its own weights,
// for the forward bench's onnxruntime-node column: the same ops a torch.onnx.export of TL's GPT-2 gives
// (LayerNormalization, one fused QKV MatMul, causal softmax attention, Gelu tanh, unembedding), on one fixed
// sequence length; and the one-token decode step with a KV cache (past / present keys and values per layer) for the
// generation bench. Bench-only: nothing in src/ imports it.
import onnxProto, { type onnx as OnnxTypes } from "onnx-proto";

const { onnx } = onnxProto;
import { cat, type HookedTransformer, type Tensor } from "../src/api.js";

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly inits: OnnxTypes.ITensorProto[] = [];
  private n = 0;

  /** A float32 initializer from a tensor's (contiguous) data. */
  weight(name: string, t: Tensor): string {
    return this.floats(name, t.shape, t.to("float32").contiguous().dataSync() as Float32Array);
  }

  floats(name: string, dims: readonly number[], data: Float32Array): string {
    this.inits.push({
      name,
      dims: [...dims],
      dataType: FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  ints(name: string, data: number[]): string {
    const raw = new BigInt64Array(data.map((v) => BigInt(v)));
    this.inits.push({ name, dims: [data.length], dataType: INT64, rawData: new Uint8Array(raw.buffer) });
    return name;
  }

  /** Adds one node; returns its (single) output name. */
  op(opType: string, inputs: string[], attrs: Record<string, number | number[] | string> = {}): string {
    return this.opN(opType, inputs, 1, attrs)[0]!;
  }

  /** Adds one node with `outputs` outputs; returns their names. */
  opN(
    opType: string,
    inputs: string[],
    outputs: number,
    attrs: Record<string, number | number[] | string> = {},
  ): string[] {
    const name = `${opType.toLowerCase()}_${this.n++}`;
    const out = outputs === 1 ? [name] : Array.from({ length: outputs }, (_, i) => `${name}_${i}`);
    const attribute = Object.entries(attrs).map(([name, v]): OnnxTypes.IAttributeProto =>
      typeof v === "string"
        ? { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) }
        : Array.isArray(v)
          ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
          : Number.isInteger(v)
            ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
            : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v },
    );
    this.nodes.push({ opType, input: inputs, output: out, name, attribute });
    return out;
  }

  /** Names a value as a graph output. */
  output(value: string, name: string): void {
    this.nodes.push({ opType: "Identity", input: [value], output: [name], name: `${name}_out` });
  }
}

type Dim = number | string;
const dims = (...d: Dim[]): OnnxTypes.TensorShapeProto.IDimension[] =>
  d.map((v) => (typeof v === "string" ? { dimParam: v } : { dimValue: v }));
const valueInfo = (name: string, elemType: number, ...d: Dim[]): OnnxTypes.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType, shape: { dim: dims(...d) } } },
});

/** The GPT-2 model's ops over its own weights, shared by the full-sequence graph and the decode step. */
class Gpt2Parts {
  readonly g = new GraphBuilder();
  private readonly sd: Map<string, Tensor>;
  private readonly ones: string;
  private readonly zeros: string;
  private readonly headsShape: string;
  private readonly modelShape: string;
  private readonly qkvSplit: string;
  readonly scale: string;

  constructor(readonly model: HookedTransformer) {
    const { dModel: D, nHeads: H, dHead: dh } = model.cfg;
    this.sd = model.stateDict();
    this.ones = this.g.floats("ln_ones", [D], new Float32Array(D).fill(1));
    this.zeros = this.g.floats("ln_zeros", [D], new Float32Array(D));
    this.scale = this.g.floats("attn_scale", [], new Float32Array([1 / Math.sqrt(dh)]));
    this.headsShape = this.g.ints("heads_shape", [0, 0, H, dh]);
    this.modelShape = this.g.ints("model_shape", [0, 0, D]);
    this.qkvSplit = this.g.ints("qkv_split", [D, D, D]);
  }

  w(name: string): Tensor {
    return this.sd.get(name)!;
  }

  ln(x: string): string {
    return this.g.op("LayerNormalization", [x, this.ones, this.zeros], { axis: -1, epsilon: this.model.cfg.eps });
  }

  /** Token embedding of `tokens` plus the position embedding `pos` (a value broadcasting to [batch, pos, d_model]). */
  embed(tokens: string, pos: string): string {
    return this.g.op("Add", [
      this.g.op("Gather", [this.g.weight("W_E", this.w("embed.W_E")), tokens], { axis: 0 }),
      pos,
    ]);
  }

  /** Layer l's q, k, v of the residual x, each [batch, head, pos, d_head] (one fused QKV MatMul, as GPT-2's c_attn). */
  qkv(x: string, l: number): [string, string, string] {
    const { dModel: D, nHeads: H, dHead: dh } = this.model.cfg;
    const a = `blocks.${l}.attn`;
    // [d_model, 3 * n_heads * d_head]: W_Q | W_K | W_V, heads side by side
    const heads = (W: Tensor): Tensor => W.permute(1, 0, 2).reshape(D, H * dh);
    const Wqkv = this.g.weight(
      `${a}.W_QKV`,
      cat([heads(this.w(`${a}.W_Q`)), heads(this.w(`${a}.W_K`)), heads(this.w(`${a}.W_V`))], 1),
    );
    const bqkv = this.g.weight(
      `${a}.b_QKV`,
      cat(
        [this.w(`${a}.b_Q`), this.w(`${a}.b_K`), this.w(`${a}.b_V`)].map((b) => b.reshape(H * dh)),
        0,
      ),
    );
    const qkv = this.g.op("Add", [this.g.op("MatMul", [this.ln(x), Wqkv]), bqkv]); // [batch, pos, 3 * d_model]
    const [q, k, v] = this.g.opN("Split", [qkv, this.qkvSplit], 3, { axis: 2 }) as [string, string, string];
    const toHeads = (t: string): string =>
      this.g.op("Transpose", [this.g.op("Reshape", [t, this.headsShape])], { perm: [0, 2, 1, 3] });
    return [toHeads(q), toHeads(k), toHeads(v)];
  }

  /** softmax(scores) · v, back to [batch, pos, n_heads * d_head]. */
  mix(scores: string, v: string): string {
    const z = this.g.op("MatMul", [this.g.op("Softmax", [scores], { axis: -1 }), v]); // [batch, head, pos, d_head]
    return this.g.op("Reshape", [this.g.op("Transpose", [z], { perm: [0, 2, 1, 3] }), this.modelShape]);
  }

  /** The residual after layer l's attention output (z flat [batch, pos, n_heads * d_head]) and its MLP. */
  finishBlock(x: string, zFlat: string, l: number): string {
    const { dModel: D, nHeads: H, dHead: dh } = this.model.cfg;
    const a = `blocks.${l}.attn`,
      m = `blocks.${l}.mlp`;
    const g = this.g;
    const Wo = g.weight(`${a}.W_O`, this.w(`${a}.W_O`).reshape(H * dh, D));
    const mid = g.op("Add", [x, g.op("Add", [g.op("MatMul", [zFlat, Wo]), g.weight(`${a}.b_O`, this.w(`${a}.b_O`))])]);
    const pre = g.op("Add", [
      g.op("MatMul", [this.ln(mid), g.weight(`${m}.W_in`, this.w(`${m}.W_in`))]),
      g.weight(`${m}.b_in`, this.w(`${m}.b_in`)),
    ]); // [batch, pos, d_mlp]
    const post = g.op("Gelu", [pre], { approximate: "tanh" });
    return g.op("Add", [
      mid,
      g.op("Add", [
        g.op("MatMul", [post, g.weight(`${m}.W_out`, this.w(`${m}.W_out`))]),
        g.weight(`${m}.b_out`, this.w(`${m}.b_out`)),
      ]),
    ]);
  }

  unembed(x: string): string {
    return this.g.op("Add", [
      this.g.op("MatMul", [this.ln(x), this.g.weight("W_U", this.w("unembed.W_U"))]),
      this.g.weight("b_U", this.w("unembed.b_U")),
    ]);
  }

  encode(name: string, input: OnnxTypes.IValueInfoProto[], output: OnnxTypes.IValueInfoProto[]): Uint8Array {
    const graph: OnnxTypes.IGraphProto = { name, node: this.g.nodes, initializer: this.g.inits, input, output };
    return onnx.ModelProto.encode({
      irVersion: 9,
      opsetImport: [{ domain: "", version: 20 }],
      producerName: "tlens-bench",
      graph,
    }).finish();
  }
}

/** The model as a serialised ONNX ModelProto: input `tokens` int64 [batch, nPos], output `logits` [batch, nPos, d_vocab]. */
export function buildOnnxModel(model: HookedTransformer, nPos: number): Uint8Array {
  const p = new Gpt2Parts(model);
  const mask = new Float32Array(nPos * nPos);
  for (let q = 0; q < nPos; q++) for (let k = q + 1; k < nPos; k++) mask[q * nPos + k] = -Infinity;
  const causal = p.g.floats("causal_mask", [nPos, nPos], mask); // [pos, pos]
  let x = p.embed("tokens", p.g.weight("W_pos", p.w("pos_embed.W_pos").narrow(0, 0, nPos)));
  for (let l = 0; l < model.cfg.nLayers; l++) {
    const [q, k, v] = p.qkv(x, l);
    const kT = p.g.op("Transpose", [k], { perm: [0, 1, 3, 2] }); // [batch, head, d_head, pos]
    const scores = p.g.op("Add", [p.g.op("Mul", [p.g.op("MatMul", [q, kT]), p.scale]), causal]); // [batch, head, q_pos, k_pos]
    x = p.finishBlock(x, p.mix(scores, v), l);
  }
  p.g.output(p.unembed(x), "logits");
  return p.encode(
    "tlens_gpt2",
    [valueInfo("tokens", INT64, "batch", nPos)],
    [valueInfo("logits", FLOAT, "batch", nPos, model.cfg.dVocab)],
  );
}

/** One decode step with a KV cache, batch 1: inputs `token` int64 [1, 1], `position` int64 [1], and per layer
 *  `past_k_<l>` / `past_v_<l>` [1, n_heads, past, d_head] (past may be 0); outputs `logits` [1, 1, d_vocab] and
 *  `present_k_<l>` / `present_v_<l>` [1, n_heads, past + 1, d_head]. No mask: the one query sees every key. */
export function buildOnnxDecodeModel(model: HookedTransformer): Uint8Array {
  const { nLayers, nHeads: H, dHead: dh } = model.cfg;
  const p = new Gpt2Parts(model);
  let x = p.embed("token", p.g.op("Gather", [p.g.weight("W_pos", p.w("pos_embed.W_pos")), "position"], { axis: 0 }));
  const inputs = [valueInfo("token", INT64, 1, 1), valueInfo("position", INT64, 1)];
  const outputs = [valueInfo("logits", FLOAT, 1, 1, model.cfg.dVocab)];
  for (let l = 0; l < nLayers; l++) {
    const [q, kNew, vNew] = p.qkv(x, l);
    const k = p.g.op("Concat", [`past_k_${l}`, kNew], { axis: 2 }); // [1, head, past + 1, d_head]
    const v = p.g.op("Concat", [`past_v_${l}`, vNew], { axis: 2 });
    p.g.output(k, `present_k_${l}`);
    p.g.output(v, `present_v_${l}`);
    const scores = p.g.op("Mul", [p.g.op("MatMul", [q, p.g.op("Transpose", [k], { perm: [0, 1, 3, 2] })]), p.scale]); // [1, head, 1, past + 1]
    x = p.finishBlock(x, p.mix(scores, v), l);
    for (const kv of ["k", "v"]) {
      inputs.push(valueInfo(`past_${kv}_${l}`, FLOAT, 1, H, "past", dh));
      outputs.push(valueInfo(`present_${kv}_${l}`, FLOAT, 1, H, "past_plus_1", dh));
    }
  }
  p.g.output(p.unembed(x), "logits");
  return p.encode("tlens_gpt2_decode", inputs, outputs);
}
