// Seeds 000 and 001 (copy suppression in a negative name mover, 10.7 of GPT-2 small): the head's attention score
// from END to IO as a linear function of its queries (keys frozen) or of its keys (queries frozen), the W_U[IO]
// component of a name mover's output, and `decompose_attn_scores`: the score split into one term per residual
// component (W_E, W_pos, biases, every earlier head and MLP) on the key side or the query side, with and without
// the S1 baseline subtracted, with the query replaced by W_U[IO], and the ∥/⟂ four-way splits (q ∥/⟂ W_U[IO],
// k ∥/⟂ MLP0). The notebooks' histograms are printed as summary rows (mean, std, quartiles), their heatmaps as
// tables laid out as `plot_contribution_to_attn_scores` (row 0: W_E, W_pos, bias, b_O; row 1 + l: layer l's heads,
// then MLP l).
//
//   npx tsx examples/copy-suppression.ts                       # toy-ioi: head 2.2, name mover 1.1
//   npx tsx examples/copy-suppression.ts --model gpt2-small    # 10.7 and 9.9, as the notebooks
//   npx tsx examples/copy-suppression.ts --head 3.0 --nmh 1.1 --batches 3 --n 40 --batch-size 50
import { IOIDataset, copySuppression, Tensor, type ActivationCache, type HookedTransformer } from "../src/index.js";
import { fmt, intArg, isGpt2Small, isMain, loadModel, parseArgs, parseHead, table } from "./common.js";

export interface CopySuppressionOptions {
  head?: [number, number];
  /** the name mover whose output is a query-side vector ("NMH output") */
  nmh?: [number, number];
  /** the histograms: batches of n prompts, seeds 0 .. batches − 1 */
  batches?: number;
  n?: number;
  /** the decompositions: one dataset of this size, seed 42 (BATCH_SIZE = 50 in the notebook) */
  batchSize?: number;
  seed?: number;
  /** print the tables (default true) */
  print?: boolean;
}

export function defaultHeads(model: HookedTransformer): { head: [number, number]; nmh: [number, number] } {
  return isGpt2Small(model) ? { head: [10, 7], nmh: [9, 9] } : { head: [2, 2], nmh: [1, 1] };
}

async function ioiRun(
  model: HookedTransformer,
  N: number,
  seed: number,
  layer: number,
): Promise<{ ds: IOIDataset; cache: ActivationCache }> {
  const ds = new IOIDataset({ promptType: "mixed", N, seed, prependBos: true });
  const names = new Set(copySuppression.copySuppressionHookNames(model, layer));
  const [, cache] = await model.runWithCache(ds.toks, {
    namesFilter: (n) => names.has(n),
    returnType: null,
    stopAtLayer: layer + 1,
  });
  return { ds, cache };
}

function summarise(values: Tensor): number[] {
  const a = Array.from(values.dataSync(), Number).sort((x, y) => x - y);
  const q = (p: number): number => a[Math.min(a.length - 1, Math.floor(p * (a.length - 1) + 0.5))]!;
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  return [mean, std, a[0]!, q(0.25), q(0.5), q(0.75), a[a.length - 1]!];
}

function histogramTable(samples: Map<string, Tensor[]>, title: string): string {
  const rows = [...samples].map(([name, ts]) => [name, ...summarise(cat1(ts))] as (string | number)[]);
  rows.sort((x, y) => (x[1] as number) - (y[1] as number)); // sorted by mean, as the notebook
  return table(["vector", "mean", "std", "min", "q25", "median", "q75", "max"], rows, title);
}

function cat1(ts: Tensor[]): Tensor {
  const n = ts.reduce((s, t) => s + t.numel, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const t of ts) {
    out.set(Float32Array.from(t.dataSync(), Number), o);
    o += t.numel;
  }
  return Tensor.fromTypedArray(out, [n]);
}

function push(m: Map<string, Tensor[]>, k: string, t: Tensor): void {
  const l = m.get(k);
  if (l) l.push(t);
  else m.set(k, [t]);
}

/** The heatmap of one facet pair: `grid` [1 + L, max(H + 1, 4)] as rows. */
export function gridTable(
  d: copySuppression.AttnScoreDecomposition,
  fi: number,
  gi: number,
  nHeads: number,
  title: string,
): string {
  const g = d.grid.get(fi, gi).toArray() as number[][];
  const bias = d.decomposeBy === "keys" ? "b_K" : "b_Q";
  const head0 = `W_E ${fmt(g[0]![0]!)}   W_pos ${fmt(g[0]![1]!)}   ${bias} ${fmt(g[0]![2]!)}   b_O ${fmt(g[0]![3]!)}`;
  const cols = [...Array.from({ length: nHeads }, (_, h) => `H${h}`), "MLP"];
  return `${table(
    ["layer", ...cols],
    g.slice(1).map((r, l) => [`L${l}`, ...r.slice(0, nHeads + 1)]),
    title,
  )}\n${head0}`;
}

export interface CopySuppressionResults {
  head: [number, number];
  nmh: [number, number];
  /** the decompositions of the notebook's "Decompose with baseline subtracted / not subtracted" and ∥/⟂ sections */
  decompositions: Record<string, copySuppression.AttnScoreDecomposition>;
  /** IO component norm, perp component norm of the normalised NMH output */
  ioComponentNorm: number;
  ioPerpComponentNorm: number;
  pctExplainedByParallel: number;
}

export async function runCopySuppression(
  model: HookedTransformer,
  o: CopySuppressionOptions = {},
): Promise<CopySuppressionResults> {
  const def = defaultHeads(model);
  const head = o.head ?? def.head;
  const nmh = o.nmh ?? def.nmh;
  const [L, H] = head;
  const print = o.print ?? true;
  const log = (s = ""): void => {
    if (print) console.log(s);
  };
  const batches = o.batches ?? 5;
  const n = o.n ?? 40;
  const hn = `${L}.${H}`;
  log(`model: ${model.cfg.modelName}; head ${hn}; name mover ${nmh[0]}.${nmh[1]}`);

  // ---- Freeze keys, patch queries (histograms over `batches` × `n` prompts, one seed per batch) ----
  const qScores = new Map<string, Tensor[]>();
  const qProbs = new Map<string, Tensor[]>();
  const kScores = new Map<string, Tensor[]>();
  const kProbs = new Map<string, Tensor[]>();
  const kScoresSub = new Map<string, Tensor[]>();
  const WU = model.W_U.mT; // [d_vocab, d_model]
  for (let seed = 0; seed < batches; seed++) {
    const { ds, cache } = await ioiRun(model, n, seed, L);
    const io = Tensor.fromTypedArray(Int32Array.from(ds.ioTokenIDs), [n]);
    const s = Tensor.fromTypedArray(Int32Array.from(ds.sTokenIDs), [n]);
    const rows = Tensor.fromTypedArray(
      Int32Array.from({ length: n }, (_, i) => i),
      [n],
    );
    const at = (name: string, pos: readonly number[]): Tensor =>
      cache.get(name).get(rows, Tensor.fromTypedArray(Int32Array.from(pos), [n]));
    const q = copySuppression.attnScoresForQuerySideVectors(model, cache, {
      head,
      dataset: ds,
      vectors: {
        "unchanged (resid_pre at END)": at(`blocks.${L}.hook_resid_pre`, ds.wordIdx.end!),
        "W_U[IO]": WU.get(io),
        "W_U[S]": WU.get(s),
        [`NMH ${nmh[0]}.${nmh[1]} output`]: copySuppression
          .headResultsAt(model, cache, nmh[0], ds.wordIdx.end!)
          .get(":", nmh[1]),
      },
    });
    for (const [k, v] of Object.entries(q)) {
      push(qScores, k, v.scores);
      push(qProbs, k, v.probs!);
    }
    const ee = await copySuppression.getEffectiveEmbedding(model, { tokens: [...ds.ioTokenIDs, ...ds.sTokenIDs] });
    const half = (t: Tensor, i: number): Tensor => t.narrow(0, i * n, n);
    const keyVecs = {
      "unchanged (resid_pre at IO)": [
        at(`blocks.${L}.hook_resid_pre`, ds.wordIdx.IO!),
        at(`blocks.${L}.hook_resid_pre`, ds.wordIdx.S1!),
      ],
      "W_E[IO]": [half(ee.W_E, 0), half(ee.W_E, 1)],
      "W_EE[IO] (incl. MLP0)": [half(ee.W_EE, 0), half(ee.W_EE, 1)],
      "W_EE_subE[IO] (MLP0 only)": [half(ee.W_EE_subE, 0), half(ee.W_EE_subE, 1)],
      "MLP0 output at IO": [at("blocks.0.hook_mlp_out", ds.wordIdx.IO!), at("blocks.0.hook_mlp_out", ds.wordIdx.S1!)],
    };
    const k = copySuppression.attnScoresForKeySideVectors(model, cache, {
      head,
      dataset: ds,
      vectors: Object.fromEntries(Object.entries(keyVecs).map(([kk, v]) => [kk, v[0]!])),
    });
    for (const [kk, v] of Object.entries(k)) {
      push(kScores, kk, v.scores);
      push(kProbs, kk, v.probs!);
    }
    const ks = copySuppression.attnScoresForKeySideVectors(model, cache, {
      head,
      dataset: ds,
      subtractS1AttnScores: true,
      vectors: Object.fromEntries(Object.entries(keyVecs).map(([kk, v]) => [kk, { vector: v[0]!, baseline: v[1]! }])),
    });
    for (const [kk, v] of Object.entries(ks)) push(kScoresSub, kk, v.scores);
  }
  const N = batches * n;
  log(`\n== Freeze keys, patch queries (${batches} batches × ${n} prompts) ==`);
  log(
    histogramTable(
      qScores,
      `Attn scores (from END -> IO) in ${hn} (keys fixed, scores are linear func of queries), N = ${N}`,
    ),
  );
  log("");
  log(
    histogramTable(
      qProbs,
      `Attn probs (from END -> IO) in ${hn} (keys fixed, scores are linear func of queries), N = ${N}`,
    ),
  );

  // ---- the W_U[IO] component of the name mover's output ----
  const { ds: ds80, cache: c80 } = await ioiRun(model, 80, 42, nmh[0] + 1 > L ? nmh[0] : L);
  const result = copySuppression.headResultsAt(model, c80, nmh[0], ds80.wordIdx.end!).get(":", nmh[1]); // [80, d_model]
  const resultNormalized = result.div(result.norm(-1, true));
  const ioDir = WU.get(Tensor.fromTypedArray(Int32Array.from(ds80.ioTokenIDs), [80]));
  const p = copySuppression.project(resultNormalized, ioDir);
  const ioComponentNorm = p.parallel.norm(-1).mean().item();
  const ioPerpComponentNorm = p.perp.norm(-1).mean().item();
  log(`\n== W_U[IO] component of NMH ${nmh[0]}.${nmh[1]}'s output at END (N = 80, seed 42) ==`);
  log(`IO component norm: ${fmt(ioComponentNorm)}`);
  log(`IO perp component norm: ${fmt(ioPerpComponentNorm)}`);

  log(`\n== Freeze queries, patch keys (${batches} batches × ${n} prompts) ==`);
  log(
    histogramTable(
      kScores,
      `Attn scores (from END -> IO) in ${hn} (queries fixed, scores are linear func of keys), N = ${N}`,
    ),
  );
  log("");
  log(
    histogramTable(
      kScoresSub,
      `Attn score diffs (END -> IO minus END -> S1) in ${hn} (queries fixed, linear func of keys), N = ${N}`,
    ),
  );
  log("");
  log(
    histogramTable(
      kProbs,
      `Attn probs (from END -> IO) in ${hn} (queries fixed, scores are linear func of keys), N = ${N}`,
    ),
  );

  // ---- decompose_attn_scores (BATCH_SIZE prompts, seed 42) ----
  const bs = o.batchSize ?? 50;
  const { ds, cache } = await ioiRun(model, bs, o.seed ?? 42, L);
  const dec = async (
    decomposeBy: "keys" | "queries",
    x: Partial<Parameters<typeof copySuppression.decomposeAttnScores>[2]> = {},
  ): Promise<copySuppression.AttnScoreDecomposition> =>
    copySuppression.decomposeAttnScores(model, cache, { head, dataset: ds, decomposeBy, ...x });
  const D: Record<string, copySuppression.AttnScoreDecomposition> = {
    decompose_k: await dec("keys"),
    decompose_k_sub_S1: await dec("keys", { subtractS1AttnScores: true }),
    decompose_q: await dec("queries"),
    decompose_q_sub_S1: await dec("queries", { subtractS1AttnScores: true }),
    decompose_k_replace_q: await dec("keys", { interveneOnQuery: "sub_W_U_IO" }),
    decompose_k_replace_q_sub_S1: await dec("keys", { interveneOnQuery: "sub_W_U_IO", subtractS1AttnScores: true }),
    split_qk_decompose_k: await dec("keys", {
      interveneOnQuery: "project_to_W_U_IO",
      interveneOnKey: "project_to_MLP0",
    }),
    split_qk_decompose_k_sub_S1: await dec("keys", {
      interveneOnQuery: "project_to_W_U_IO",
      interveneOnKey: "project_to_MLP0",
      subtractS1AttnScores: true,
    }),
    split_qk_decompose_q: await dec("queries", {
      interveneOnQuery: "project_to_W_U_IO",
      interveneOnKey: "project_to_MLP0",
    }),
    split_qk_decompose_q_sub_S1: await dec("queries", {
      interveneOnQuery: "project_to_W_U_IO",
      interveneOnKey: "project_to_MLP0",
      subtractS1AttnScores: true,
    }),
    split_qk_decompose_k_sub_S1_effective_embedding: await dec("keys", {
      interveneOnQuery: "project_to_W_U_IO",
      interveneOnKey: "project_to_MLP0",
      subtractS1AttnScores: true,
      useEffectiveEmbedding: true,
    }),
  };
  const nH = model.cfg.nHeads;
  log(
    `\n== decompose_attn_scores (N = ${bs}, seed ${o.seed ?? 42}): contribution of each component to ${hn}'s score END -> IO ==`,
  );
  log(
    table(
      ["decomposition", "Σ contributions", "actual score", "max |Σ − actual| per row"],
      Object.entries(D).map(([name, d]) => {
        const tot = d.total.mean().item();
        const act = d.actual ? d.actual.mean().item() : NaN;
        const err = d.actual ? d.total.sub(d.actual).abs().max().item() : NaN;
        return [
          name,
          tot,
          d.actual && !name.includes("replace") ? fmt(act) : "—",
          d.actual && !name.includes("replace") ? err.toExponential(1) : "—",
        ];
      }),
    ),
  );
  for (const name of [
    "decompose_k",
    "decompose_k_sub_S1",
    "decompose_q",
    "decompose_q_sub_S1",
    "decompose_k_replace_q_sub_S1",
  ]) {
    log("");
    log(
      gridTable(
        D[name]!,
        0,
        0,
        nH,
        `${name}: decomposed by ${D[name]!.decomposeBy}${name.includes("sub_S1") ? ", baseline END -> S1 subtracted" : ""}`,
      ),
    );
  }
  for (const name of ["split_qk_decompose_k_sub_S1", "split_qk_decompose_q_sub_S1"]) {
    const d = D[name]!;
    for (let fi = 0; fi < d.fixedFacets.length; fi++) {
      for (let gi = 0; gi < d.decomposedFacets.length; gi++) {
        log("");
        log(gridTable(d, fi, gi, nH, `${name}: ${d.fixedFacets[fi]} × ${d.decomposedFacets[gi]}`));
      }
    }
  }
  // the four facet sums of the key-side split (q ∥/⟂ W_U[IO] × k ∥/⟂ MLP0)
  const splitK = D.split_qk_decompose_k_sub_S1!;
  const facetSums = splitK.mean.sum(-1).toArray() as number[][]; // [F, G]
  log("");
  log(
    table(
      ["", "k ∥ MLP0", "k ⟂ MLP0"],
      [
        ["q ∥ W_U[IO]", ...facetSums[0]!],
        ["q ⟂ W_U[IO]", ...facetSums[1]!],
      ],
      "Decompose on key-side, split by q ∥/⟂ W_U[IO] and k ∥/⟂ MLP0 (Attn(END->IO) − Attn(END->S1), summed over components)",
    ),
  );
  // the notebook's pct_explained: the MLP0 component (last key-side component of layer 0) in the both-parallel facet
  const mlp0 = splitK.labels.indexOf("MLP0");
  const pctExplained = splitK.mean.get(0, 0, mlp0).item() / splitK.mean.sum().item();
  log(
    `Pct of net attention diff explained by both parallel components (MLP0, q ∥ W_U[IO], k ∥ MLP0): ${(100 * pctExplained).toFixed(2)}%`,
  );

  const full = await copySuppression.decomposeAttnScoresFull(model, cache, {
    head,
    dataset: ds,
    subtractS1AttnScores: true,
  });
  log("");
  log(
    table(
      ["facet (query side × key side)", "Σ over component pairs", "largest pair", "its value"],
      full.facets.map((f, i) => {
        const m = full.mean.get(i);
        const a = m.toArray() as number[][];
        let best = [0, 0];
        for (let qi = 0; qi < a.length; qi++)
          for (let ki = 0; ki < a.length; ki++)
            if (Math.abs(a[qi]![ki]!) > Math.abs(a[best[0]!]![best[1]!]!)) best = [qi, ki];
        return [f, m.sum().item(), `q ${full.labels[best[0]!]} · k ${full.labels[best[1]!]}`, a[best[0]!]![best[1]!]!];
      }),
      `decompose_attn_scores_full (query × key components, S1 subtracted): Σ = ${fmt(full.total.mean().item())}, actual ${full.actual ? fmt(full.actual.mean().item()) : "—"}`,
    ),
  );
  return { head, nmh, decompositions: D, ioComponentNorm, ioPerpComponentNorm, pctExplainedByParallel: pctExplained };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const model = await loadModel(args);
  const t0 = performance.now();
  await runCopySuppression(model, {
    head: args.has("head") ? parseHead(args.get("head")!) : undefined,
    nmh: args.has("nmh") ? parseHead(args.get("nmh")!) : undefined,
    batches: intArg(args, "batches", 5),
    n: intArg(args, "n", 40),
    batchSize: intArg(args, "batch-size", 50),
    seed: intArg(args, "seed", 42),
  });
  console.error(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

if (isMain(import.meta.url)) await main();
