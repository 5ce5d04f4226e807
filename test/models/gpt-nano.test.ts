// llm-viz's gpt-nano (minGPT trained to sort digits, ../shared/models/gpt-nano-sort): the JSON loader, and every
// per-step activation recorded by llm-viz (partials-t0.json) against the tlens hook that holds it.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { cat, HookedTransformer, LoadError, Tensor } from "../../src/index.js";
import { decodeBase64, decodeJsonTensor, parseLlmvizModel } from "../../src/loading/llmviz.js";

const DIR = new URL("../../../shared/models/gpt-nano-sort", import.meta.url).pathname;
const TOL = 2e-5;

function maxAbsDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.to("float32").contiguous().dataSync();
  const y = b.to("float32").contiguous().dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue; // also -inf == -inf
    m = Math.max(m, Math.abs(x[i]! - y[i]!));
  }
  return m;
}

describe("gpt-nano-sort (llm-viz JSON)", () => {
  let partials: Map<string, Tensor>;
  let model: HookedTransformer;
  let tokens: Tensor;
  beforeAll(async () => {
    const raw = JSON.parse(readFileSync(`${DIR}/partials-t0.json`, "utf8")) as Record<string, unknown>;
    partials = new Map();
    for (const [k, v] of Object.entries(raw)) if (k !== "config") partials.set(k, decodeJsonTensor(v, k, "partials"));
    tokens = partials.get("idx")!.to("int32");
    model = await HookedTransformer.fromPretrainedNoProcessing(DIR);
  });

  it("reads the config and the untied, bias-free lm_head", () => {
    const c = model.cfg;
    expect([c.nLayers, c.nHeads, c.dModel, c.dHead, c.dMlp, c.dVocab, c.nCtx]).toEqual([3, 3, 48, 16, 192, 3, 11]);
    expect([c.actFn, c.normalizationType, c.eps, c.positionalEmbeddingType]).toEqual(["gelu_new", "LN", 1e-5, "standard"]);
    expect(model.tokenizer).toBeNull();
    const json = JSON.parse(readFileSync(`${DIR}/model.json`, "utf8"));
    const lmHead = decodeJsonTensor(json["lm_head.weight"], "lm_head.weight", "model.json"); // [3, 48] nn.Linear
    expect(maxAbsDiff(model.W_U, lmHead.transpose(0, 1))).toBe(0);
    expect(maxAbsDiff(model.b_U, Tensor.fromTypedArray(new Float32Array(3), [3]))).toBe(0);
    // nn.Linear [out, in]: c_attn.weight [144, 48] rows are q | k | v outputs
    const cAttn = decodeJsonTensor(json["transformer.h.1.attn.c_attn.weight"], "c_attn", "model.json");
    const q2 = cAttn.narrow(0, 2 * 16, 16).transpose(0, 1); // head 2's query weights [48, 16]
    expect(maxAbsDiff(model.blocks[1]!.attn.W_Q.get(2), q2)).toBe(0);
  });

  it("every recorded partial equals the corresponding hook (≤ 2e-5)", async () => {
    const [logits, cache] = await model.runWithCache(tokens);
    const [B, T] = tokens.shape as [number, number];
    const heads = (t: Tensor): Tensor => t.permute(0, 2, 1, 3); // [B, T, head, d] → [B, head, T, d]
    const checks: [string, Tensor][] = [
      ["tok_emb", cache.get("hook_embed")],
      ["pos_emb", cache.get("hook_pos_embed").narrow(0, 0, 1)],
      ["x", cache.get("blocks.0.hook_resid_pre")],
      ["ln1", cache.get("blocks.0.ln1.hook_normalized")],
      ["q", heads(cache.get("blocks.0.attn.hook_q"))],
      ["k", heads(cache.get("blocks.0.attn.hook_k"))],
      ["v", heads(cache.get("blocks.0.attn.hook_v"))],
      ["qkv", cat(["q", "k", "v"].map((n) => cache.get(`blocks.0.attn.hook_${n}`).reshape(B, T, 48)), 2)],
      ["att", cache.get("blocks.0.attn.hook_attn_scores")],
      ["attSm", cache.get("blocks.0.attn.hook_pattern")],
      ["y", cache.get("blocks.0.attn.hook_z").reshape(B, T, 48)],
      ["yProj", cache.get("blocks.0.hook_attn_out")],
      ["attnResid", cache.get("blocks.0.hook_resid_mid")],
      ["ln2", cache.get("blocks.0.ln2.hook_normalized")],
      ["fc", cache.get("blocks.0.mlp.hook_pre")],
      ["gelu", cache.get("blocks.0.mlp.hook_post")],
      ["mlp", cache.get("blocks.0.hook_mlp_out")],
      ["mlpResid", cache.get("blocks.0.hook_resid_post")],
      ["block0", cache.get("blocks.0.hook_resid_post")],
      ["block1", cache.get("blocks.1.hook_resid_post")],
      ["block2", cache.get("blocks.2.hook_resid_post")],
      ["ln_f", cache.get("ln_final.hook_normalized")],
      ["lm_head", logits],
      ["probs", logits.softmax(-1)],
    ];
    const used = new Set(["idx"]);
    const diffs: Record<string, number> = {};
    for (const [name, ours] of checks) {
      diffs[name] = maxAbsDiff(ours, partials.get(name)!);
      used.add(name);
    }
    for (const [name, d] of Object.entries(diffs)) expect(d, `${name} differs by ${d}`).toBeLessThanOrEqual(TOL);
    if (process.env.TLENS_REPORT) console.log("gpt-nano max |diff| per partial", diffs);
    expect([...partials.keys()].filter((k) => !used.has(k))).toEqual([]); // every partial was compared
    // the masked scores are -inf where llm-viz has -inf
    const att = cache.get("blocks.0.attn.hook_attn_scores").dataSync();
    const ref = partials.get("att")!.dataSync();
    for (let i = 0; i < att.length; i++) expect(att[i] === -Infinity).toBe(ref[i] === -Infinity);
  });

  it("with TL's weight processing the predictions are unchanged", async () => {
    const processed = await HookedTransformer.fromPretrained(DIR);
    expect(processed.cfg.normalizationType).toBe("LNPre");
    const probs = (await processed.forward(tokens)).softmax(-1);
    expect(maxAbsDiff(probs, partials.get("probs")!)).toBeLessThanOrEqual(TOL);
  });

  it("errors name the file and tensor", () => {
    const json = JSON.parse(readFileSync(`${DIR}/model.json`, "utf8"));
    const broken = { ...json, "transformer.h.0.ln_1.bias": { ...json["transformer.h.0.ln_1.bias"], data: json["transformer.h.0.ln_1.bias"].data.slice(0, 40) } };
    expect(() => parseLlmvizModel(broken, { source: "m.json" })).toThrow(/m\.json: "transformer\.h\.0\.ln_1\.bias" holds 30 bytes, its shape \[48\] needs 192/);
    const { "transformer.ln_f.bias": _drop, ...missing } = json;
    expect(() => parseLlmvizModel(missing, { source: "m.json" })).toThrow(LoadError);
    expect(() => parseLlmvizModel({ ...json, config: { ...json.config, n_embd: 0 } }, { source: "m.json" })).toThrow(/config\.n_embd/);
    expect(() => parseLlmvizModel({ ...json, "transformer.wte.weight": { ...json["transformer.wte.weight"], dtype: "torch.int8" } })).toThrow(/dtype/);
    expect(() => decodeBase64("ab$d")).toThrow(/invalid base64/);
    expect(Array.from(decodeBase64("AAECAw=="))).toEqual([0, 1, 2, 3]);
  });
});
