// Builds an ONNX graph of a GPT-2-shaped tlens model (LNPre, gelu_new, learned positions) from its own weights,
// for the forward bench's onnxruntime-node column: the same ops a torch.onnx.export of TL's GPT-2 gives
// (LayerNormalization, one fused QKV MatMul, causal softmax attention, Gelu tanh, unembedding), on one fixed
// sequence length. Bench-only: nothing in src/ imports it.
import onnxProto, { type onnx as OnnxTypes } from "onnx-proto";

const { onnx } = onnxProto;
import { cat, type HookedTransformer, type Tensor } from "../src/api.js";

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly inits: OnnxTypes.ITensorProto[] = [];
  private n = 0;

  /** A float32 initializer from a tensor's (contiguous) data. */
  weight(name: string, t: Tensor): string {
    return this.floats(name, t.shape, t.to("float32").contiguous().dataSync() as Float32Array);
  }

  floats(name: string, dims: readonly number[], data: Float32Array): string {
    this.inits.push({ name, dims: [...dims], dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  ints(name: string, data: number[]): string {
    const raw = new BigInt64Array(data.map((v) => BigInt(v)));
    this.inits.push({ name, dims: [data.length], dataType: INT64, rawData: new Uint8Array(raw.buffer) });
    return name;
  }

  /** Adds one node; returns its (single) output name. */
  op(opType: string, inputs: string[], attrs: Record<string, number | number[] | string> = {}): string {
    const out = `${opType.toLowerCase()}_${this.n++}`;
    const attribute = Object.entries(attrs).map(([name, v]): OnnxTypes.IAttributeProto =>
      typeof v === "string" ? { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) }
        : Array.isArray(v) ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
          : Number.isInteger(v) ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
            : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v });
    this.nodes.push({ opType, input: inputs, output: [out], name: out, attribute });
    return out;
  }
}

/** The model as a serialised ONNX ModelProto: input `tokens` int64 [batch, nPos], output `logits` [batch, nPos, d_vocab]. */
export function buildOnnxModel(model: HookedTransformer, nPos: number): Uint8Array {
  const { nLayers, dModel: D, nHeads: H, dHead: dh } = model.cfg;
  const sd = model.stateDict();
  const w = (name: string): Tensor => sd.get(name)!;
  const g = new GraphBuilder();
  const ones = g.floats("ln_ones", [D], new Float32Array(D).fill(1));
  const zeros = g.floats("ln_zeros", [D], new Float32Array(D));
  const ln = (x: string): string => g.op("LayerNormalization", [x, ones, zeros], { axis: -1, epsilon: model.cfg.eps });
  const mask = new Float32Array(nPos * nPos);
  for (let q = 0; q < nPos; q++) for (let k = q + 1; k < nPos; k++) mask[q * nPos + k] = -Infinity;
  const causal = g.floats("causal_mask", [nPos, nPos], mask); // [pos, pos]
  const scale = g.floats("attn_scale", [], new Float32Array([1 / Math.sqrt(dh)]));
  const headsShape = g.ints("heads_shape", [0, 0, H, dh]);
  const modelShape = g.ints("model_shape", [0, 0, D]);
  const qkvSplit = g.ints("qkv_split", [D, D, D]);

  let x = g.op("Add", [g.op("Gather", [g.weight("W_E", w("embed.W_E")), "tokens"], { axis: 0 }), g.weight("W_pos", w("pos_embed.W_pos").narrow(0, 0, nPos))]);
  for (let l = 0; l < nLayers; l++) {
    const a = `blocks.${l}.attn`, m = `blocks.${l}.mlp`;
    // [d_model, 3 * n_heads * d_head]: W_Q | W_K | W_V, heads side by side, as GPT-2's c_attn
    const heads = (W: Tensor): Tensor => W.permute(1, 0, 2).reshape(D, H * dh);
    const Wqkv = g.weight(`${a}.W_QKV`, cat([heads(w(`${a}.W_Q`)), heads(w(`${a}.W_K`)), heads(w(`${a}.W_V`))], 1));
    const bqkv = g.weight(`${a}.b_QKV`, cat([w(`${a}.b_Q`), w(`${a}.b_K`), w(`${a}.b_V`)].map((b) => b.reshape(H * dh)), 0));
    const qkv = g.op("Add", [g.op("MatMul", [ln(x), Wqkv]), bqkv]); // [batch, pos, 3 * d_model]
    const split = `split_${l}`;
    g.nodes.push({ opType: "Split", input: [qkv, qkvSplit], output: [`${split}_q`, `${split}_k`, `${split}_v`], name: split, attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 2 }] });
    const toHeads = (t: string, perm: number[]): string => g.op("Transpose", [g.op("Reshape", [t, headsShape])], { perm });
    const q = toHeads(`${split}_q`, [0, 2, 1, 3]); // [batch, head, pos, d_head]
    const kT = toHeads(`${split}_k`, [0, 2, 3, 1]); // [batch, head, d_head, pos]
    const v = toHeads(`${split}_v`, [0, 2, 1, 3]);
    const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, kT]), scale]), causal]); // [batch, head, q_pos, k_pos]
    const z = g.op("MatMul", [g.op("Softmax", [scores], { axis: -1 }), v]); // [batch, head, pos, d_head]
    const zFlat = g.op("Reshape", [g.op("Transpose", [z], { perm: [0, 2, 1, 3] }), modelShape]); // [batch, pos, n_heads * d_head]
    const Wo = g.weight(`${a}.W_O`, w(`${a}.W_O`).reshape(H * dh, D));
    x = g.op("Add", [x, g.op("Add", [g.op("MatMul", [zFlat, Wo]), g.weight(`${a}.b_O`, w(`${a}.b_O`))])]);
    const pre = g.op("Add", [g.op("MatMul", [ln(x), g.weight(`${m}.W_in`, w(`${m}.W_in`))]), g.weight(`${m}.b_in`, w(`${m}.b_in`))]); // [batch, pos, d_mlp]
    const post = g.op("Gelu", [pre], { approximate: "tanh" });
    x = g.op("Add", [x, g.op("Add", [g.op("MatMul", [post, g.weight(`${m}.W_out`, w(`${m}.W_out`))]), g.weight(`${m}.b_out`, w(`${m}.b_out`))])]);
  }
  const logits = g.op("Add", [g.op("MatMul", [ln(x), g.weight("W_U", w("unembed.W_U"))]), g.weight("b_U", w("unembed.b_U"))]);
  g.nodes.push({ opType: "Identity", input: [logits], output: ["logits"], name: "logits_out" });
  const dims = (...d: (number | string)[]): OnnxTypes.TensorShapeProto.IDimension[] => d.map((v) => (typeof v === "string" ? { dimParam: v } : { dimValue: v }));
  const graph: OnnxTypes.IGraphProto = {
    name: "tlens_gpt2", node: g.nodes, initializer: g.inits,
    input: [{ name: "tokens", type: { tensorType: { elemType: INT64, shape: { dim: dims("batch", nPos) } } } }],
    output: [{ name: "logits", type: { tensorType: { elemType: FLOAT, shape: { dim: dims("batch", nPos, model.cfg.dVocab) } } } }],
  };
  return onnx.ModelProto.encode({ irVersion: 9, opsetImport: [{ domain: "", version: 20 }], producerName: "tlens-bench", graph }).finish();
}
