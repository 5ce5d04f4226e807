// Llama-family support on a real pretrained model: llama2.c's stories260K (../shared/models/stories260K) — the
// checkpoint and tokenizer loaders, rotary + grouped-query attention + SwiGLU + RMSNorm against an independent
// float32 port of llama2.c's run.c, TL's hooks and shapes, KV-cache generation, and weight processing.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, LoadError, patching, Tensor, TokenizerError } from "../../src/index.js";
import { parseLlama2cCheckpoint, readLlama2cHeader } from "../../src/loading/llama2c.js";
import { Llama2cTokenizer } from "../../src/tokenizer/llama2c.js";
import { maxAbsDiff } from "../golden.js";

const DIR = new URL("../../../shared/models/stories260K", import.meta.url).pathname;

// The README's reference: llama2.c's greedy generation from [BOS] (run.c with temperature 0) begins so.
const README_START = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she " +
  "saw a big, red ball. She wanted to play with it, but it was too high.";
// The whole first story, up to the BOS at which run.c stops (position 346), from an independent numpy float32 port of
// run.c's forward (interleaved rotary on the checkpoint's own layout, GQA, SwiGLU, greedy argmax).
const FIRST_STORY = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find it.\"\nLily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\nLily didn't want to help her mom, so she said, \"I'm sorry, mom. I didn't know what to do.\" Her mom said, \"Don't worry, Lily. We can help you.\"\nLily and her mom went to the park to play. They played together and had fun. After a while, Lily's mom came into the room and saw the park. She was so happy and said, \"Thank you, Lily! You are a good friend.\"";
const FIRST_TOKENS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396];
// The same port's logits at four positions of that generation, for token ids 0, 1, 2, 259..263 and the argmax.
const REF_LOGITS: Record<number, number[]> = {
  0: [-6.22291, 8.40434, -6.22374, 5.31454, -1.47752, 9.54128, 5.79138, 10.02159, 17.02351],
  17: [-0.69238, -4.57907, -0.69236, -2.01748, -2.27357, 0.07105, -2.12693, -2.97789, 21.96756],
  123: [-12.85817, -0.89767, -12.85771, 11.56406, -1.43512, 10.23452, 11.21162, 8.79364, 14.97962],
  344: [-7.49272, 12.04489, -7.49323, 3.66179, -1.34512, 7.6334, 4.27533, 5.71237, 17.2349],
};
// llama2.c's encode(), ported line by line to Python, on the same tokenizer file.
const ENCODINGS: [string, number[]][] = [
  ["", []], ["Once upon a time", [403, 407, 261, 378]], ["Lily and Tom went to the park.", [317, 269, 274, 287, 263, 377, 267, 265, 282, 295, 433, 426]],
  [" leading space", [410, 278, 411, 380, 299, 262, 427, 412, 331]],
  ["two  spaces\nnew line\n\nend", [259, 424, 414, 410, 262, 427, 412, 331, 419, 13, 416, 411, 424, 278, 271, 411, 13, 13, 367]],
  ["Caf\u00e9 na\u00efve \u2014 emoji \ud83d\ude00!", [410, 457, 412, 431, 485, 297, 412, 198, 178, 360, 410, 481, 344, 423, 414, 449, 417, 410, 243, 162, 155, 131, 443]],
  ["tabs\tand ~|<>[]\\%", [259, 412, 430, 419, 12, 412, 264, 410, 510, 506, 504, 505, 508, 509, 500, 501]],
  ["12345 67.89", [410, 475, 479, 472, 484, 480, 410, 490, 491, 426, 487, 483]],
  ["Hello, \"world\"! It's Bob's.", [346, 306, 414, 432, 313, 424, 304, 341, 436, 443, 359, 413, 439, 419, 368, 414, 430, 439, 419, 426]],
  ["\u00e2\u20ac\u2122 \u200a x", [410, 502, 503, 507, 410, 511, 410, 444]],
];

const ids = (t: Tensor): number[] => Array.from(t.dataSync(), Number);
const tokensOf = (rows: number[][]): Tensor => Tensor.fromTypedArray(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length]);

describe("stories260K (llama2.c)", () => {
  let model: HookedTransformer;     // TL's default processing (RMS folded → RMSPre, unembed centred)
  let raw: HookedTransformer;       // no processing
  let ckpt: Uint8Array;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(DIR);
    raw = await HookedTransformer.fromPretrainedNoProcessing(DIR);
    ckpt = new Uint8Array(readFileSync(`${DIR}/stories260K.bin`));
  });

  describe("tokenizer (tok512.bin)", () => {
    let tok: Llama2cTokenizer;
    beforeAll(() => { tok = Llama2cTokenizer.fromBytes(new Uint8Array(readFileSync(`${DIR}/tok512.bin`)), { vocabSize: 512 }); });

    it("reads 512 tokens; BOS 1, EOS 2", () => {
      expect([tok.vocabSize, tok.bosTokenId, tok.eosTokenId, tok.maxTokenLength]).toEqual([512, 1, 2, 7]);
      expect([tok.idToString(0), tok.idToString(1), tok.idToString(2), tok.idToString(13), tok.idToString(403)]).toEqual(["<unk>", "<s>", "</s>", "\n", " Once"]);
    });

    it("encodes as llama2.c (dummy prefix, byte fallback, merges by score)", () => {
      for (const [text, want] of ENCODINGS) expect(tok.encode(text), JSON.stringify(text)).toEqual(want);
    });

    it("decodes as llama2.c prints: no space after BOS or at the start, bytes reassembled", () => {
      for (const [text] of ENCODINGS) {
        if (text.startsWith(" ")) expect(tok.decode(tok.encode(text))).toBe(text); // only the dummy prefix goes
        else expect(tok.decode([1, ...tok.encode(text)])).toBe(text);
      }
      expect(tok.decode([403, 407])).toBe("Once upon");
      expect(tok.decode([1, 403, 1, 403])).toBe("OnceOnce");       // run.c strips the space after every BOS
      expect(tok.decode([426, 403])).toBe(". Once");
      expect(tok.decode([198, 172])).toBe("\u00e9");               // <0xC3><0xA9>
      expect(tok.idToString(198)).toBe("\ufffd");                  // half a character alone
      expect(() => tok.decode([512])).toThrow(TokenizerError);
      expect(() => tok.idToString(-1)).toThrow(TokenizerError);
    });

    it("rejects broken files", () => {
      const bytes = new Uint8Array(readFileSync(`${DIR}/tok512.bin`));
      expect(() => Llama2cTokenizer.fromBytes(bytes.subarray(0, 1000), { source: "t.bin" })).toThrow(/t\.bin: truncated at token|length/);
      expect(() => Llama2cTokenizer.fromBytes(bytes, { vocabSize: 513, source: "t.bin" })).toThrow(/holds 512 tokens, the model has a vocabulary of 513/);
      expect(() => Llama2cTokenizer.fromBytes(new Uint8Array([0, 0, 0, 0]))).toThrow(/max_token_length/);
    });
  });

  describe("checkpoint", () => {
    it("config: TL's Llama conventions", () => {
      const c = raw.cfg;
      expect([c.nLayers, c.dModel, c.nHeads, c.dHead, c.nKeyValueHeads, c.dMlp, c.dVocab, c.nCtx]).toEqual([5, 64, 8, 8, 4, 172, 512, 512]);
      expect([c.normalizationType, c.positionalEmbeddingType, c.rotaryDim, c.rotaryBase, c.rotaryAdjacentPairs, c.gatedMlp, c.actFn, c.eps, c.finalRms])
        .toEqual(["RMS", "rotary", 8, 10000, false, true, "silu", 1e-5, true]);
      expect([c.bosTokenId, c.eosTokenId, c.defaultPrependBos, c.modelName]).toEqual([1, 2, true, "stories260K"]);
      expect(model.cfg.normalizationType).toBe("RMSPre");
    });

    it("state dict: TL names and shapes (GQA's _W_K/_W_V, gated W_gate, no pos_embed)", () => {
      const sd = raw.stateDict();
      const shapes = Object.fromEntries([...sd].filter(([k]) => !k.startsWith("blocks.") || k.startsWith("blocks.0.")).map(([k, t]) => [k, t.shape]));
      expect(shapes).toEqual({
        "embed.W_E": [512, 64],
        "blocks.0.ln1.w": [64], "blocks.0.ln2.w": [64],
        "blocks.0.attn.W_Q": [8, 64, 8], "blocks.0.attn._W_K": [4, 64, 8], "blocks.0.attn._W_V": [4, 64, 8], "blocks.0.attn.W_O": [8, 8, 64],
        "blocks.0.attn.b_Q": [8, 8], "blocks.0.attn._b_K": [4, 8], "blocks.0.attn._b_V": [4, 8], "blocks.0.attn.b_O": [64],
        "blocks.0.mlp.W_in": [64, 172], "blocks.0.mlp.W_gate": [64, 172], "blocks.0.mlp.W_out": [172, 64], "blocks.0.mlp.b_in": [172], "blocks.0.mlp.b_out": [64],
        "ln_final.w": [64], "unembed.W_U": [64, 512], "unembed.b_U": [512],
      });
      // W_K / W_V read the key/value heads repeated per query head (TL's repeat_interleave)
      expect(raw.W_K.shape).toEqual([5, 8, 64, 8]);
      const WK = raw.blocks[2]!.attn.W_K;
      for (let h = 0; h < 8; h++) expect(maxAbsDiff(WK.get(h), raw.blocks[2]!.attn._W_K.get(Math.floor(h / 2)))).toBe(0);
      expect(raw.W_gate.shape).toEqual([5, 64, 172]);
      expect(() => raw.W_pos).toThrow(/rotary/);
      // shared classifier: W_U is W_Eᵀ
      expect(maxAbsDiff(raw.W_U, raw.W_E.transpose(0, 1))).toBe(0);
    });

    it("q/k rows are permuted from llama2.c's (2i, 2i+1) pairs to TL's rotate-half order", () => {
      const h = readLlama2cHeader(ckpt);
      const data = new Float32Array(ckpt.buffer.slice(ckpt.byteOffset + 28));
      const D = 64;
      const wq0 = data.subarray(512 * 64 + 5 * 64); // layer 0 wq [64 out, 64 in]
      const WQ = raw.blocks[0]!.attn.W_Q;            // [8, 64, 8]
      // head 3, TL dim 1 ← llama2.c row 3·8 + 2; TL dim 5 (= 4 + 1) ← row 3·8 + 3
      for (const [r, src] of [[1, 26], [5, 27], [0, 24], [4, 25]]) {
        for (const i of [0, 17, 63]) expect(WQ.get(3, i, r!).item()).toBe(wq0[src! * D + i]);
      }
      expect(h).toMatchObject({ version: 0, dim: 64, nKvHeads: 4, sharedClassifier: true });
    });

    it("logits equal an independent port of run.c (≤ 1e-4)", async () => {
      const story = tokensOf([FIRST_TOKENS]);
      expect(ids(story)).toEqual(FIRST_TOKENS);
      const full = await raw.generate(tokensOf([[1]]), { maxNewTokens: 345, doSample: false, stopAtEos: false }) as Tensor;
      const logits = await raw.forward(full);
      for (const [p, want] of Object.entries(REF_LOGITS)) {
        const pos = Number(p);
        const next = ids(full)[pos + 1];
        const got = [0, 1, 2, 259, 260, 261, 262, 263, next].map((v) => logits.get(0, pos, v!).item());
        got.forEach((g, i) => expect(Math.abs(g - want[i]!), `pos ${pos}`).toBeLessThan(1e-4));
      }
    });

    it("rotary on adjacent pairs (no permutation) gives the same logits", async () => {
      const { cfg, weights } = parseLlama2cCheckpoint(ckpt, { rotateHalf: false });
      expect(cfg.rotaryAdjacentPairs).toBe(true);
      const adj = new HookedTransformer(cfg);
      adj.loadStateDict(weights);
      const toks = tokensOf([FIRST_TOKENS]);
      expect(maxAbsDiff(await adj.forward(toks), await raw.forward(toks))).toBeLessThan(1e-4);
    });

    it("reads llama2.c's version 1 format too", async () => {
      // build a version-1 file from the legacy one: 256-byte header, norms first, then the matrices, no freq tables
      const f = new Float32Array(ckpt.buffer.slice(ckpt.byteOffset + 28));
      const L = 5, D = 64, F = 172, V = 512, KV = 32;
      const parts: [number, number][] = []; // [offset, length] in f
      let o = 0;
      const take = (n: number): [number, number] => { const r: [number, number] = [o, n]; o += n; return r; };
      const tok = take(V * D), rmsAtt = take(L * D), wq = take(L * D * D), wk = take(L * KV * D), wv = take(L * KV * D), wo = take(L * D * D);
      const rmsFfn = take(L * D), w1 = take(L * F * D), w2 = take(L * D * F), w3 = take(L * F * D), rmsFinal = take(D);
      parts.push(rmsAtt, rmsFfn, rmsFinal, tok, wq, wk, wv, wo, w1, w2, w3);
      const n = parts.reduce((a, p) => a + p[1], 0);
      const v1 = new Uint8Array(256 + 4 * n);
      const dv = new DataView(v1.buffer);
      dv.setUint32(0, 0x616b3432, true);
      dv.setInt32(4, 1, true);
      [64, 172, 5, 8, 4, 512, 512].forEach((x, i) => dv.setInt32(8 + 4 * i, x, true));
      v1[36] = 1;
      const body = new Float32Array(v1.buffer, 256, n);
      let w = 0;
      for (const [s, len] of parts) { body.set(f.subarray(s, s + len), w); w += len; }
      const parsed = parseLlama2cCheckpoint(v1, { source: "v1.bin" });
      const legacy = parseLlama2cCheckpoint(ckpt);
      expect([...parsed.weights.keys()]).toEqual([...legacy.weights.keys()]);
      for (const [k, t] of legacy.weights) expect(maxAbsDiff(parsed.weights.get(k)!, t), k).toBe(0);
      dv.setInt32(4, 2, true);
      expect(() => parseLlama2cCheckpoint(v1, { source: "v2.bin" })).toThrow(/version 2 is not supported/);
    });

    it("truncated or lying files are LoadErrors naming the file", () => {
      expect(() => parseLlama2cCheckpoint(ckpt.subarray(0, ckpt.length - 4), { source: "s.bin" }))
        .toThrow(/s\.bin: 1056536 bytes, but the header .* implies 1056540/);
      const bad = ckpt.slice(0, 1024);
      new DataView(bad.buffer).setInt32(12, 7, true); // n_heads 7
      expect(() => parseLlama2cCheckpoint(bad, { source: "s.bin" })).toThrow(LoadError);
      expect(() => parseLlama2cCheckpoint(new Uint8Array(10))).toThrow(/too short/);
    });
  });

  describe("generation", () => {
    it("greedy from [BOS] reproduces llama2.c's reference text", async () => {
      const out = await model.generate(tokensOf([[1]]), { maxNewTokens: 70, doSample: false }) as Tensor;
      const text = model.toString(ids(out));
      expect(text.startsWith(README_START)).toBe(true);
      expect(ids(out).slice(0, FIRST_TOKENS.length)).toEqual(FIRST_TOKENS);
      // a string prompt: "" is just [BOS]
      expect((await model.generate("", { maxNewTokens: 70, doSample: false }) as string).startsWith(README_START)).toBe(true);
    });

    it("the whole first story, up to the BOS where run.c stops, equals the independent port", async () => {
      const out = ids(await model.generate(tokensOf([[1]]), { maxNewTokens: 360, doSample: false, stopAtEos: false }) as Tensor);
      const end = out.indexOf(1, 1);
      expect(end).toBe(346);
      expect(model.toString(out.slice(0, end))).toBe(FIRST_STORY);
    });

    it("the KV cache (rotary offsets) gives the same tokens as rerunning the sequence", async () => {
      const prompt = model.toTokens("Lily and Tom went to the park. They saw");
      const a = await model.generate(prompt, { maxNewTokens: 25, doSample: false, useKvCache: true }) as Tensor;
      const b = await model.generate(prompt, { maxNewTokens: 25, doSample: false, useKvCache: false }) as Tensor;
      expect(ids(a)).toEqual(ids(b));
      // sampling with a seed is reproducible
      const s1 = await model.generate("Tom had a dog", { maxNewTokens: 20, seed: 7 });
      const s2 = await model.generate("Tom had a dog", { maxNewTokens: 20, seed: 7 });
      expect(s1).toBe(s2);
    });

    it("left-padded batches continue each prompt as it would alone (rotary positions skip padding)", async () => {
      const prompts = ["Once upon a time", "Tom and his mom went to the shop to buy"];
      const batch = await model.generate(prompts, { maxNewTokens: 12, doSample: false }) as string[];
      for (let i = 0; i < prompts.length; i++) expect(batch[i]).toBe(await model.generate(prompts[i]!, { maxNewTokens: 12, doSample: false }));
    });
  });

  describe("hooks", () => {
    it("TL's hook set and shapes for rotary + GQA + gated MLP", async () => {
      const toks = model.toTokens("Once upon a time, Lily"); // [1, 8]
      const pos = toks.shape[1];
      const [, cache] = await model.runWithCache(toks);
      const b0 = cache.keys().filter((k) => k.startsWith("blocks.0."));
      expect(b0).toEqual([
        "blocks.0.hook_resid_pre", "blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized",
        "blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_v", "blocks.0.attn.hook_rot_q", "blocks.0.attn.hook_rot_k",
        "blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z", "blocks.0.hook_attn_out",
        "blocks.0.hook_resid_mid", "blocks.0.ln2.hook_scale", "blocks.0.ln2.hook_normalized",
        "blocks.0.mlp.hook_pre", "blocks.0.mlp.hook_pre_linear", "blocks.0.mlp.hook_post", "blocks.0.hook_mlp_out", "blocks.0.hook_resid_post",
      ]);
      expect(cache.keys()[0]).toBe("hook_embed");
      expect(cache.has("hook_pos_embed")).toBe(false);
      const shape = (n: string): number[] => cache.get(n).shape;
      expect(shape("blocks.3.attn.hook_q")).toEqual([1, pos, 8, 8]);
      expect(shape("blocks.3.attn.hook_k")).toEqual([1, pos, 4, 8]);
      expect(shape("blocks.3.attn.hook_v")).toEqual([1, pos, 4, 8]);
      expect(shape("blocks.3.attn.hook_rot_q")).toEqual([1, pos, 8, 8]);
      expect(shape("blocks.3.attn.hook_rot_k")).toEqual([1, pos, 4, 8]);
      expect(shape("blocks.3.attn.hook_pattern")).toEqual([1, 8, pos, pos]);
      expect(shape("blocks.3.attn.hook_z")).toEqual([1, pos, 8, 8]);
      expect(shape("blocks.3.mlp.hook_pre_linear")).toEqual([1, pos, 172]);
      expect(shape("ln_final.hook_scale")).toEqual([1, pos, 1]);
      // every hook that fired is a hook point; the hook dict has exactly TL's names for this architecture
      expect(new Set(model.hookNames())).toEqual(new Set(model.hookPoints.keys()));
      const fired = new Set(cache.keys());
      const silent = model.hookNames().filter((n) => !fired.has(n)).map((n) => n.replace(/^blocks\.\d+\./, "")).sort();
      expect([...new Set(silent)]).toEqual(["attn.hook_result", "hook_attn_in", "hook_k_input", "hook_mlp_in", "hook_q_input", "hook_v_input"]);
    });

    it("rotation at position 0 is the identity; query heads 2k and 2k+1 share key/value head k", async () => {
      const [, cache] = await raw.runWithCache(tokensOf([FIRST_TOKENS]));
      const q = cache.get("blocks.1.attn.hook_q"), rq = cache.get("blocks.1.attn.hook_rot_q");
      expect(maxAbsDiff(q.narrow(1, 0, 1), rq.narrow(1, 0, 1))).toBe(0);
      expect(maxAbsDiff(q.narrow(1, 3, 1), rq.narrow(1, 3, 1))).toBeGreaterThan(1e-3);
      // the pattern of head h from rot_q[h] · rot_k[h // 2]
      const rk = cache.get("blocks.1.attn.hook_rot_k");
      const scores = cache.get("blocks.1.attn.hook_attn_scores");
      for (const h of [0, 5]) {
        const s = rq.get(0, ":", h).matmul(rk.get(0, ":", Math.floor(h / 2)).transpose(0, 1)).div(Math.sqrt(8));
        const want = scores.get(0, h);
        for (const [i, j] of [[4, 2], [10, 10], [18, 0]]) expect(Math.abs(s.get(i!, j!).item() - want.get(i!, j!).item())).toBeLessThan(1e-5);
      }
    });

    it("hooks on hook_k edit the shared key head; split qkv inputs have n_kv_heads for k and v", async () => {
      const toks = tokensOf([FIRST_TOKENS.slice(0, 10)]);
      const base = await model.forward(toks);
      const edited = await model.runWithHooks(toks, { fwdHooks: [["blocks.0.attn.hook_k", (k) => { k.set([":", ":", 1], 0); }]] });
      expect(maxAbsDiff(base, edited)).toBeGreaterThan(1e-3);
      model.setUseSplitQkvInput(true);
      model.setUseAttnResult(true);
      try {
        const [logits, cache] = await model.runWithCache(toks);
        expect(cache.get("blocks.2.hook_q_input").shape).toEqual([1, 10, 8, 64]);
        expect(cache.get("blocks.2.hook_k_input").shape).toEqual([1, 10, 4, 64]);
        expect(cache.get("blocks.2.hook_v_input").shape).toEqual([1, 10, 4, 64]);
        expect(cache.get("blocks.2.attn.hook_result").shape).toEqual([1, 10, 8, 64]);
        expect(maxAbsDiff(logits, base)).toBeLessThan(1e-4);
      } finally {
        model.setUseSplitQkvInput(false);
        model.setUseAttnResult(false);
      }
    });

    it("weight processing (fold RMS, centre the unembedding) keeps the log-probs", async () => {
      const toks = tokensOf([FIRST_TOKENS]);
      expect(maxAbsDiff((await model.forward(toks)).logSoftmax(-1), (await raw.forward(toks)).logSoftmax(-1))).toBeLessThan(1e-4);
      expect(model.stateDict().has("blocks.0.ln1.w")).toBe(false);
      const loss = await model.forward(toks, { returnType: "loss" });
      expect(loss.item()).toBeGreaterThan(0);
      expect(loss.item()).toBeLessThan(1.5); // its own greedy text is easy for it
    });

    it("activation patching of GQA keys: the fast sweep equals the naive re-run", async () => {
      const clean = model.toTokens("Lily had a red ball. Lily gave the ball to");
      const corrupted = clean.clone();
      corrupted.set([0, 1], 274); // the first " Lily" → " Tom"
      const [, cleanCache] = await model.runWithCache(clean);
      const metric = (logits: Tensor): number => logits.get(0, -1, 317).item(); // " Lily"? any fixed token
      for (const fn of ["getActPatchAttnHeadKAllPos", "getActPatchAttnHeadOutByPos", "getActPatchResidPre"] as const) {
        const fast = await patching[fn](model, corrupted, cleanCache, metric, { progressBar: false });
        const naive = await patching[fn](model, corrupted, cleanCache, metric, { fast: false, progressBar: false });
        expect(maxAbsDiff(fast, naive), fn).toBeLessThan(1e-4);
        if (fn === "getActPatchAttnHeadKAllPos") expect(fast.shape).toEqual([5, 4]); // n_kv_heads
      }
    });
  });
});
