// Seed 004 (ARENA 1.2 "TransformerLens: Introduction") on a pretrained model: loading and running (loss, next-token
// accuracy), tokenization, caching, verifying the attention pattern from hook_q and hook_k, hooks (recording and
// ablating), logit attribution (the residual stream decomposed into components whose direct effects add up to the
// logit difference), and §4 activation addition: an ActAdd steering vector from a prompt pair, a coefficient
// sweep and steered generations. (The induction-head part of the seed, on a 2-layer attention-only model, is
// examples/arena-induction.ts.)
//
//   npx tsx examples/intro-and-steering.ts                      # toy-ioi
//   npx tsx examples/intro-and-steering.ts --model gpt2-small
import { steering, logitLens, einsum, HookedTransformer, Tensor, type HookFn } from "../src/index.js";
import { fmt, intArg, isGpt2Small, isMain, loadModel, parseArgs, table } from "./common.js";

export const MODEL_DESCRIPTION_TEXT = `## Loading Models

HookedTransformer comes loaded with >40 open source GPT-style models. You can load any of them in with \`HookedTransformer.from_pretrained(MODEL_NAME)\`. Each model is loaded into the consistent HookedTransformer architecture, designed to be clean, consistent and interpretability-friendly.

For this demo notebook we'll look at GPT-2 Small, an 80M parameter model. To try the model the model out, let's find the loss on this paragraph!`;

export const IOI_PROMPT = "When Mary and John went to the store, John gave a drink to";
export const IOI_PROMPT_SWAPPED = "When John and Mary went to the store, Mary gave a drink to";

export interface IntroResults {
  loss: number;
  nCorrect: number;
  nTokens: number;
  patternMaxDiff: number;
  logitDiff: number;
  dlaSum: number;
  sweep: { coeff: number; logitDiff: number; kl: number }[];
}

export async function runIntro(
  model: HookedTransformer,
  o: { coeffs?: number[]; genTokens?: number; print?: boolean } = {},
): Promise<IntroResults> {
  const print = o.print ?? true;
  const log = (s = ""): void => {
    if (print) console.log(s);
  };
  const cfg = model.cfg;
  log(
    `model: ${cfg.modelName}: n_layers ${cfg.nLayers}, n_heads ${cfg.nHeads}, d_model ${cfg.dModel}, d_head ${cfg.dHead}, d_mlp ${cfg.dMlp}, n_ctx ${cfg.nCtx}, d_vocab ${cfg.dVocab}`,
  );

  // ---- running the model ----
  const text =
    model.toStrTokens(MODEL_DESCRIPTION_TEXT).length <= cfg.nCtx
      ? MODEL_DESCRIPTION_TEXT
      : model.toString(
          model
            .toTokens(MODEL_DESCRIPTION_TEXT)
            .get(0)
            .narrow(0, 1, cfg.nCtx - 1),
        );
  if (text !== MODEL_DESCRIPTION_TEXT) log(`(the paragraph is cut to n_ctx = ${cfg.nCtx} tokens)`);
  const loss = (await model.forward(text, { returnType: "loss" })).item();
  log(`Model loss: ${fmt(loss)}`);
  const logits = await model.forward(text);
  const prediction = logits
    .argmax(-1)
    .get(0)
    .narrow(0, 0, logits.shape[1]! - 1);
  const trueTokens = model
    .toTokens(text)
    .get(0)
    .narrow(0, 1, logits.shape[1]! - 1);
  const pred = Array.from(prediction.dataSync(), Number);
  const truth = Array.from(trueTokens.dataSync(), Number);
  const correctToks = pred.filter((p, i) => p === truth[i]);
  log(`Model accuracy: ${correctToks.length}/${truth.length}`);
  log(`Correct tokens: ${JSON.stringify(model.toStrTokens(correctToks))}`);

  // ---- tokenization ----
  log("");
  log(`to_str_tokens("gpt2"): ${JSON.stringify(model.toStrTokens("gpt2"))}`);
  log(`to_str_tokens(["gpt2", "gpt2"]): ${JSON.stringify(["gpt2", "gpt2"].map((t) => model.toStrTokens(t)))}`);
  log(`to_tokens("gpt2"): ${JSON.stringify(model.toTokens("gpt2").toArray())}`);
  log(`to_string([50256, 70, 457, 17]): ${JSON.stringify(model.toString([50256, 70, 457, 17]))}`);

  // ---- caching, and the pattern from q and k ----
  const [, cache] = await model.runWithCache(IOI_PROMPT, { removeBatchDim: true });
  const patternFromCache = cache.get("pattern", 0); // [head, q, k]
  log("");
  log(`cache: ${cache.size} activations; cache["pattern", 0]: [${patternFromCache.shape.join(", ")}]`);
  const q = cache.get("q", 0); // [pos, head, d_head]
  const k = cache.get("k", 0);
  const seq = q.shape[0]!;
  const scores = einsum("posn_Q nheads d_head, posn_K nheads d_head -> nheads posn_Q posn_K", q, k).div(
    Math.sqrt(cfg.dHead),
  );
  const mask = Tensor.fromTypedArray(
    Float32Array.from({ length: seq * seq }, (_, i) => (i % seq > Math.floor(i / seq) ? -1e30 : 0)),
    [seq, seq],
  );
  const patternFromQK = scores.add(mask).softmax(-1);
  const patternMaxDiff = patternFromQK.sub(patternFromCache).abs().max().item();
  log(`layer 0 pattern from hook_q and hook_k vs the cache: max |diff| = ${patternMaxDiff.toExponential(2)}`);
  const tokens = model.toStrTokens(IOI_PROMPT);
  log("Layer 0 Head Attention Patterns (from the last token, the 3 largest keys per head):");
  for (let h = 0; h < cfg.nHeads; h++) {
    const row = Array.from(patternFromCache.get(h, seq - 1).dataSync(), Number);
    const top = row
      .map((v, i) => [v, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 3);
    log(`  0.${h}: ${top.map(([v, i]) => `${JSON.stringify(tokens[i])}@${i} ${v.toFixed(3)}`).join(", ")}`);
  }

  // ---- hooks ----
  const io = model.toSingleToken(" Mary");
  const s = model.toSingleToken(" John");
  const ld = (lg: Tensor): number => lg.get(0, -1, io).item() - lg.get(0, -1, s).item();
  const base = await model.forward(IOI_PROMPT);
  const logitDiff = ld(base);
  const seen: string[] = [];
  const record: HookFn = (act, hook) => {
    seen.push(`${hook.name} [${act.shape.join(", ")}]`);
  };
  await model.runWithHooks(IOI_PROMPT, {
    returnType: null,
    fwdHooks: [[(n: string) => n.endsWith("hook_pattern"), record]],
  });
  log("");
  log(`a recording hook on every hook_pattern saw: ${seen.join("; ")}`);
  const ablRows: (string | number)[][] = [];
  for (let l = 0; l < cfg.nLayers; l++) {
    const row: (string | number)[] = [`L${l}`];
    for (let h = 0; h < cfg.nHeads; h++) {
      const zero: HookFn = (z) => {
        z.set([":", ":", h], 0);
      };
      row.push(ld(await model.runWithHooks(IOI_PROMPT, { fwdHooks: [[`blocks.${l}.attn.hook_z`, zero]] })) - logitDiff);
    }
    ablRows.push(row);
  }
  log(
    table(
      ["layer", ...Array.from({ length: cfg.nHeads }, (_, h) => `H${h}`)],
      ablRows,
      `Change in logit(" Mary") − logit(" John") when a head's output (hook_z) is zeroed (clean ${fmt(logitDiff)})`,
    ),
  );

  // ---- logit attribution ----
  const dla = logitLens.dlaByLayer(model, cache, {
    target: { tokens: " Mary", incorrectTokens: " John" },
    posSlice: -1,
  });
  const attrs = Array.from(dla.attrs.dataSync(), Number);
  const bias = dla.unembedBias ? dla.unembedBias.item() : 0;
  const dlaSum = attrs.reduce((a, b) => a + b, 0) + bias;
  log("");
  log(
    table(
      ["component", "logit diff"],
      [...dla.labels.map((l, i) => [l, attrs[i]!]), ["b_U", bias], ["sum", dlaSum], ["model's logit diff", logitDiff]],
      `Direct logit attribution to logit(" Mary") − logit(" John") at the last position of ${JSON.stringify(IOI_PROMPT)}`,
    ),
  );

  // ---- §4 activation addition ----
  const layer = isGpt2Small(model) ? 6 : 1;
  const { vector, hook } = await steering.contrastiveSteeringVector(model, [[IOI_PROMPT, IOI_PROMPT_SWAPPED]], {
    hook: "resid_pre",
    layer,
  });
  const coeffs = o.coeffs ?? [0, 0.25, 0.5, 0.75, 1];
  const sweep = await steering.steeringSweep(model, IOI_PROMPT_SWAPPED, {
    steering: { hook, vector },
    coeffs,
    tokens: [" Mary", " John"],
  });
  const sw = coeffs.map((c, i) => ({
    coeff: c,
    logitDiff: sweep.logitDiff!.get(i, 0).item(),
    kl: sweep.klFromUnsteered.get(i, 0).item(),
  }));
  log("");
  log(
    `ActAdd: resid_pre of layer ${layer} for ${JSON.stringify(IOI_PROMPT)} minus ${JSON.stringify(IOI_PROMPT_SWAPPED)}, added from position 0 to the second prompt`,
  );
  log(
    table(
      ["coeff", 'logit(" Mary") − logit(" John")', "KL from unsteered"],
      sw.map((r) => [String(r.coeff), r.logitDiff, r.kl]),
      undefined,
      3,
    ),
  );
  const gens = await steering.steeringGenerations(model, IOI_PROMPT_SWAPPED, { hook, vector }, [0, 1], {
    maxNewTokens: o.genTokens ?? 8,
    seed: 0,
    doSample: false,
  });
  for (const g of gens) log(`coeff ${g.coeff}: ${JSON.stringify(g.output)}`);
  return { loss, nCorrect: correctToks.length, nTokens: truth.length, patternMaxDiff, logitDiff, dlaSum, sweep: sw };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const model: HookedTransformer = await loadModel(args);
  const t0 = performance.now();
  await runIntro(model, { genTokens: intArg(args, "gen-tokens", 8) });
  console.error(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

if (isMain(import.meta.url)) await main();
