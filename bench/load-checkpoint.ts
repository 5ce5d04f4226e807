// A random Llama-layout checkpoint written shard by shard (safetensors + model.safetensors.index.json), never held
// whole in memory: for the load benchmark.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface CheckpointShape {
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  dMlp: number;
  dVocab: number;
}

/** ~1.0B parameters (Llama-style: 18 layers of d_model 2048, GQA 16/8 heads, d_mlp 5632, vocab 32000, untied). */
export const ONE_B: CheckpointShape = { dModel: 2048, nLayers: 18, nHeads: 16, nKvHeads: 8, dMlp: 5632, dVocab: 32000 };

/** Every tensor of the checkpoint with its HF name and shape. */
export function checkpointTensors(s: CheckpointShape): [string, number[]][] {
  const dHead = s.dModel / s.nHeads;
  const list: [string, number[]][] = [["model.embed_tokens.weight", [s.dVocab, s.dModel]]];
  for (let l = 0; l < s.nLayers; l++) {
    const p = `model.layers.${l}`;
    list.push(
      [`${p}.input_layernorm.weight`, [s.dModel]],
      [`${p}.post_attention_layernorm.weight`, [s.dModel]],
      [`${p}.self_attn.q_proj.weight`, [s.nHeads * dHead, s.dModel]],
      [`${p}.self_attn.k_proj.weight`, [s.nKvHeads * dHead, s.dModel]],
      [`${p}.self_attn.v_proj.weight`, [s.nKvHeads * dHead, s.dModel]],
      [`${p}.self_attn.o_proj.weight`, [s.dModel, s.nHeads * dHead]],
      [`${p}.mlp.gate_proj.weight`, [s.dMlp, s.dModel]],
      [`${p}.mlp.up_proj.weight`, [s.dMlp, s.dModel]],
      [`${p}.mlp.down_proj.weight`, [s.dModel, s.dMlp]],
    );
  }
  list.push(["model.norm.weight", [s.dModel]], ["lm_head.weight", [s.dVocab, s.dModel]]);
  return list;
}

export const countParams = (s: CheckpointShape): number =>
  checkpointTensors(s).reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);

/** Writes one shard: header, then each tensor's BF16 bytes (small random values) in 4 MiB chunks. */
function writeShard(file: string, tensors: [string, number[]][], rand: () => number): void {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const [name, shape] of tensors) {
    const bytes = 2 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: "BF16", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(file, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, json);
    const chunk = new Uint16Array(2 << 20);
    for (const [, shape] of tensors) {
      let left = shape.reduce((a, b) => a * b, 1);
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        // bfloat16 of a value in about ±0.03: sign, exponent 0x79..0x7a, random mantissa
        for (let i = 0; i < n; i++)
          chunk[i] = ((rand() < 0.5 ? 0x8000 : 0) | (0x3c80 + Math.floor(rand() * 0x100))) & 0xffff;
        writeSync(fd, new Uint8Array(chunk.buffer, 0, 2 * n));
        left -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes config.json and the shards (about `shardBytes` each) of a random checkpoint into `dir`. */
export function writeCheckpoint(dir: string, s: CheckpointShape, shardBytes = 1 << 30): void {
  mkdirSync(dir, { recursive: true });
  let state = 12345;
  const rand = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const shards: [string, number[]][][] = [[]];
  let size = 0;
  for (const t of checkpointTensors(s)) {
    const bytes = 2 * t[1].reduce((a, b) => a * b, 1);
    if (size > 0 && size + bytes > shardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1]!.push(t);
    size += bytes;
  }
  const weightMap: Record<string, string> = {};
  shards.forEach((list, i) => {
    const file = `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`;
    writeShard(join(dir, file), list, rand);
    for (const [name] of list) weightMap[name] = file;
  });
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      architectures: ["LlamaForCausalLM"],
      hidden_size: s.dModel,
      num_attention_heads: s.nHeads,
      num_key_value_heads: s.nKvHeads,
      num_hidden_layers: s.nLayers,
      intermediate_size: s.dMlp,
      vocab_size: s.dVocab,
      max_position_embeddings: 2048,
      hidden_act: "silu",
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: false,
    }),
  );
}
