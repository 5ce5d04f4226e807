// Seed 002: the IOI circuit end to end (Wang et al. 2022, in ARENA 1.4's code), on runIoiPipeline — the same
// analysis and numbers as `tlens ioi` (IOIDataset mixed, N = 100, seed 1, its XYZ twin as the corruption): logit
// differences, the logit lens and DLA per layer and per head, activation patching at word positions and of every
// head (z, q, k, v, pattern), path patching, head detectors, OV copying and copy scores, circuit validation by mean
// ablation. Then the notebook's cells the report has not: the name-swapped and positional flips, head detectors
// on repeated random tokens, backup name movers, check_copy_circuit, path patching to chosen receivers, the
// notebook's circuit with its minimality sets, and `generate` with the mean-ablation hook in place (the notebook's
// last cell, which failed there).
//
// All positions are each prompt's own (`wordIdx.end` etc.): the notebook read logits at −1, which is `end` only for
// unpadded prompts.
//
//   npx tsx examples/ioi-circuit.ts                       # toy-ioi
//   npx tsx examples/ioi-circuit.ts --model gpt2-small    # the notebook's model and circuit
//   npx tsx examples/ioi-circuit.ts --n 40 --seed 1
import {
  circuits,
  ioi,
  detectHead,
  detectors,
  pathPatching,
  type HookedTransformer,
  type IOIDataset,
  type Tensor,
} from "../src/index.js";
import {
  fmt,
  headName,
  intArg,
  isGpt2Small,
  isMain,
  layerHeadTable,
  loadModel,
  matrixTable,
  parseArgs,
  table,
  topHeads,
} from "./common.js";
/** The circuit the tools find (docs/ioi.md) on toy-ioi, and the IOI paper's on GPT-2 small (the notebook's CIRCUIT). */
export function defaultCircuit(model: HookedTransformer): {
  circuit: circuits.Circuit;
  seqPosToKeep: circuits.SeqPosToKeep;
  kForEachComponent: [pathPatching.Head, pathPatching.Head[]][];
} {
  if (isGpt2Small(model)) {
    const circuit: circuits.Circuit = {
      "name mover": [
        [9, 9],
        [10, 0],
        [9, 6],
      ],
      "backup name mover": [
        [10, 10],
        [10, 6],
        [10, 2],
        [10, 1],
        [11, 2],
        [9, 7],
        [9, 0],
        [11, 9],
      ],
      "negative name mover": [
        [10, 7],
        [11, 10],
      ],
      "s2 inhibition": [
        [7, 3],
        [7, 9],
        [8, 6],
        [8, 10],
      ],
      induction: [
        [5, 5],
        [5, 8],
        [5, 9],
        [6, 9],
      ],
      "duplicate token": [
        [0, 1],
        [0, 10],
        [3, 0],
      ],
      "previous token": [
        [2, 2],
        [4, 11],
      ],
    };
    const seqPosToKeep: circuits.SeqPosToKeep = {
      "name mover": "end",
      "backup name mover": "end",
      "negative name mover": "end",
      "s2 inhibition": "end",
      induction: "S2",
      "duplicate token": "S2",
      "previous token": "S1+1",
    };
    // the notebook's K_FOR_EACH_COMPONENT
    const k: [pathPatching.Head, pathPatching.Head[]][] = [
      [[9, 9], []],
      [[10, 0], [[9, 9]]],
      [
        [9, 6],
        [
          [9, 9],
          [10, 0],
        ],
      ],
      [[10, 7], [[11, 10]]],
      [[11, 10], [[10, 7]]],
      [
        [8, 10],
        [
          [7, 9],
          [8, 6],
          [7, 3],
        ],
      ],
      [
        [7, 9],
        [
          [8, 10],
          [8, 6],
          [7, 3],
        ],
      ],
      [
        [8, 6],
        [
          [7, 9],
          [8, 10],
          [7, 3],
        ],
      ],
      [
        [7, 3],
        [
          [7, 9],
          [8, 10],
          [8, 6],
        ],
      ],
      [
        [5, 5],
        [
          [5, 9],
          [6, 9],
          [5, 8],
        ],
      ],
      [
        [5, 9],
        [
          [11, 10],
          [10, 7],
        ],
      ],
      [
        [6, 9],
        [
          [5, 9],
          [5, 5],
          [5, 8],
        ],
      ],
      [
        [5, 8],
        [
          [11, 10],
          [10, 7],
        ],
      ],
      [
        [0, 1],
        [
          [0, 10],
          [3, 0],
        ],
      ],
      [
        [0, 10],
        [
          [0, 1],
          [3, 0],
        ],
      ],
      [
        [3, 0],
        [
          [0, 1],
          [0, 10],
        ],
      ],
      [[4, 11], [[2, 2]]],
      [[2, 2], [[4, 11]]],
      [
        [11, 2],
        [
          [9, 9],
          [10, 0],
          [9, 6],
        ],
      ],
      [
        [10, 6],
        [
          [9, 9],
          [10, 0],
          [9, 6],
          [11, 2],
        ],
      ],
      [
        [10, 10],
        [
          [9, 9],
          [10, 0],
          [9, 6],
          [11, 2],
          [10, 6],
        ],
      ],
      [
        [10, 2],
        [
          [9, 9],
          [10, 0],
          [9, 6],
          [11, 2],
          [10, 6],
          [10, 10],
        ],
      ],
      [
        [9, 7],
        [
          [9, 9],
          [10, 0],
          [9, 6],
          [11, 2],
          [10, 6],
          [10, 10],
          [10, 2],
        ],
      ],
      [
        [10, 1],
        [
          [9, 9],
          [10, 0],
          [9, 6],
          [11, 2],
          [10, 6],
          [10, 10],
          [10, 2],
          [9, 7],
        ],
      ],
      [
        [11, 9],
        [
          [9, 9],
          [10, 0],
          [9, 6],
          [9, 0],
        ],
      ],
      [
        [9, 0],
        [
          [9, 9],
          [10, 0],
          [9, 6],
          [11, 9],
        ],
      ],
    ];
    return { circuit, seqPosToKeep, kForEachComponent: k };
  }
  // toy-ioi (docs/ioi.md "toy-ioi's IOI circuit, as these tools read it")
  return {
    circuit: {
      "recent name": [[0, 3]],
      "recent name (S1+1)": [[0, 3]],
      mover: [[1, 1]],
      pair: [
        [2, 0],
        [2, 2],
      ],
    },
    seqPosToKeep: { "recent name": "end", "recent name (S1+1)": "S1+1", mover: "end", pair: "end" },
    kForEachComponent: [
      [[0, 3], []],
      [[1, 1], []],
      [[2, 0], [[2, 2]]],
      [[2, 2], [[2, 0]]],
    ],
  };
}

export interface IoiCircuitOptions {
  N?: number;
  seed?: number;
  print?: boolean;
}

export interface IoiCircuitResults {
  /** ioi.runIoiPipeline's results (what `tlens ioi` writes). */
  pipeline: ioi.IoiResults;
  swappedLogitDiff: number;
  positionalFlipLogitDiff: number;
  /** The notebook's circuit (defaultCircuit): F(C) and F(M). */
  circuitScore: number;
  fullModelScore: number;
}

type Log = (s?: string) => void;

/** The pipeline's numbers as the notebook prints them. */
function printPipeline(r: ioi.IoiResults, log: Log): void {
  const ld = r.logitDiff;
  log(`Average logit diff (IOI dataset): ${fmt(ld.clean)}`);
  log(`Average logit diff (XYZ-flipped dataset, the clean IO − S): ${fmt(ld.flipped)}`);
  log(`logit diff > 0 on ${fmt(ld.cleanAccuracy * 100, 1)}% of the clean prompts`);
  log("");
  log(
    table(
      ["Prompt", "Logit Difference"],
      r.dataset.sentences.slice(0, 5).map((p, i) => [p, ld.cleanPerPrompt[i]!]),
      "Logit differences",
      3,
    ),
  );
  log("");
  log(
    table(
      ["component", "logit lens"],
      r.logitLens.labels.map((l, i) => [l, r.logitLens.logitDiff[i]!]),
      "Logit Difference From Accumulated Residual Stream",
    ),
  );
  const { perHead, rest, unembedBias, logitDiff } = r.dlaHeads;
  const layers = r.dlaLayers;
  log("");
  log(
    table(
      ["component", "logit diff"],
      [
        ...layers.labels.map((l, i) => [l, layers.values[i]!]),
        ["b_U", unembedBias],
        ["total", layers.values.reduce((a, b) => a + b, 0) + unembedBias],
      ],
      "Logit Difference From Each Layer",
    ),
  );
  log("");
  log(layerHeadTable(perHead, "Logit Difference From Each Head (direct, at end)"));
  log(
    `Σ heads ${fmt(perHead.to("float64").sum().item())} + rest ${fmt(rest)} + b_U ${fmt(unembedBias)} = ${fmt(logitDiff)} (logit diff ${fmt(ld.clean)})`,
  );
  log(
    `top heads by |DLA|: ${topHeads(perHead, 5)
      .map((t) => `${headName(t.head)} ${fmt(t.value)}`)
      .join(", ")}`,
  );
  const layerNames = Array.from({ length: r.model.nLayers }, (_, l) => `L${l}`);
  log("");
  log(
    "Activation patching (clean into XYZ-flipped; fraction of the logit difference restored; each prompt at its own word position)",
  );
  for (const [name, t] of [
    ["resid_pre", r.patching.residPre],
    ["attn_out", r.patching.attnOut],
    ["mlp_out", r.patching.mlpOut],
  ] as const) {
    log("");
    log(matrixTable(t, layerNames, r.patching.positions, `${name} Activation Patching`, 2, "layer"));
  }
  ["output", "query", "key", "value", "pattern"].forEach((name, i) => {
    log("");
    log(layerHeadTable(r.patching.heads.get(i), `Activation Patching Per Head (All Pos): ${name}`));
  });
  if (r.pathPatching) {
    log("");
    log(layerHeadTable(r.pathPatching.toLogits, "Direct effect on logit diff (patch from head → final resid)"));
    log(
      `name movers: ${r.pathPatching.nameMovers.map(headName).join(", ") || "none"}; S-inhibition: ${r.pathPatching.sInhibition.map(headName).join(", ") || "none"}`,
    );
  }
  log("");
  log(layerHeadTable(r.copyScores.ovCopying, "OV Copying Score for each head (eigenvalues of W_V W_O)", 3));
  log("");
  log(
    layerHeadTable(
      r.copyScores.fullOvCopying,
      "Full OV Copying Score for each head (eigenvalues of W_E W_V W_O W_U)",
      3,
    ),
  );
  log("");
  log(
    layerHeadTable(
      r.copyScores.positive,
      `Positive copying scores (top-${r.copyScores.k} over ${r.copyScores.names} names)`,
      2,
    ),
  );
  log("");
  log(layerHeadTable(r.copyScores.negative, "Negative copying scores", 2));
  const c = r.circuit;
  log("");
  log(
    `The circuit the pipeline finds: ${Object.entries(c.heads)
      .map(([k, hs]) => `${k}: ${hs.map(headName).join(" ")}`)
      .join("; ")}`,
  );
  log(
    `F(M) ${fmt(c.fullModelScore)}, F(C) ${fmt(c.circuitScore)}, F(∅) ${fmt(c.noHeadsScore)}, faithfulness ${fmt(c.faithfulness, 3)}`,
  );
}

/** The logit difference (the clean IO − S) on the name-swapped and on the positionally flipped prompts. */
async function printFlips(
  model: HookedTransformer,
  ds: IOIDataset,
  log: Log,
): Promise<{ swapped: number; positional: number }> {
  // the notebook's swap_names_in_prompt: both names swap everywhere, so the right answer swaps too
  const swapped = ioi.ioiMetric(
    model,
    ds,
  )((await model.forward(ds.genFlippedPrompts("ABB -> BAA, BAB -> ABA").toks)) as Tensor);
  // the positional flip of docs/ioi.md: IO and S1 swap places, S2 stays (the answer stays IO)
  const flipped = ds.genFlippedPrompts("ABB -> BAB, BAB -> ABB");
  const positional = ioi.ioiMetric(model, flipped)((await model.forward(flipped.toks)) as Tensor);
  log("");
  log(`Average logit diff (flipped "ABB -> BAB, BAB -> ABB", its own IO − S): ${fmt(positional)}`);
  log(`Average logit diff (names swapped "ABB -> BAA, BAB -> ABA", the clean IO − S): ${fmt(swapped)}`);
  return { swapped, positional };
}

/** Backup name movers and check_copy_circuit (the cells after DLA and after the copy scores). */
async function printBackupAndCopy(
  model: HookedTransformer,
  ds: IOIDataset,
  r: ioi.IoiResults,
  log: Log,
): Promise<void> {
  const rep = detectors.generateRepeatedTokens(model, 20, { batch: 4, seed: 0 });
  for (const kind of ["previous_token_head", "duplicate_token_head", "induction_head"] as const) {
    log("");
    log(
      layerHeadTable(
        await detectHead(model, rep, kind),
        `${kind} scores (detectHead on 4 × [BOS] + r + r, |r| = 20)`,
        3,
      ),
    );
  }
  const bnm = await ioi.backupNameMoverAnalysis(model, ds);
  const [tl, th] = bnm.ablated[0]!;
  log("");
  log(`Top Name Mover to ablate: L${tl}H${th}`);
  log(`Original logit diff: ${fmt(bnm.clean.logitDiff, 2)}`);
  log(`Post ablation logit diff: ${fmt(bnm.afterAblation.logitDiff, 2)}`);
  log(`Direct Logit Attribution of top name mover head: ${fmt(bnm.clean.perHead.get(tl, th).item(), 2)}`);
  log(`Naive prediction of post ablation logit diff: ${fmt(bnm.naivePrediction, 2)}`);
  log(`Average LN scaling ratio: ${fmt(bnm.lnScaleRatio, 3)}`);
  log(layerHeadTable(bnm.change, "Change in each head's DLA after the ablation"));
  const rows: (string | number)[][] = [];
  for (const [sign, scores, n] of [
    ["positive", r.copyScores.positive, 3],
    ["negative", r.copyScores.negative, 2],
  ] as const) {
    for (const {
      head: [l, h],
    } of topHeads(scores, n, "pos")) {
      const c = await ioi.checkCopyCircuit(model, l, h, ds, { neg: sign === "negative" });
      rows.push([`L${l}H${h}`, sign, c.percent, c.byWord.IO, c.byWord.S1, c.byWord.S2]);
    }
  }
  log("");
  log(
    table(
      ["head", "sign", "% in top 5", "IO", "S1", "S2"],
      rows,
      "check_copy_circuit (blocks.0.hook_resid_post → OV → unembed)",
      1,
    ),
  );
}

/** Path patching to the receivers the notebook chose (the paper's on GPT-2 small; the top path heads on toy-ioi). */
async function printReceivers(
  model: HookedTransformer,
  ds: IOIDataset,
  flipped: IOIDataset,
  r: ioi.IoiResults,
  log: Log,
): Promise<void> {
  const metric = ioi.ioiMetric(model, ds, { clean: r.logitDiff.clean, corrupted: r.logitDiff.flipped });
  const pathTop = r.pathPatching ? topHeads(r.pathPatching.toLogits, 4).map((t) => t.head) : [];
  const specs: { what: string; heads: pathPatching.Head[]; input: pathPatching.QkvInput; positions: string }[] =
    isGpt2Small(model)
      ? [
          {
            what: "name mover queries",
            heads: [
              [9, 9],
              [9, 6],
              [10, 0],
            ],
            input: "q",
            positions: "end",
          },
          {
            what: "S-inhibition values",
            heads: [
              [7, 3],
              [7, 9],
              [8, 6],
              [8, 10],
            ],
            input: "v",
            positions: "S2",
          },
          {
            what: "S-inhibition keys",
            heads: [
              [7, 3],
              [7, 9],
              [8, 6],
              [8, 10],
            ],
            input: "k",
            positions: "S2",
          },
          {
            what: "induction keys",
            heads: [
              [5, 5],
              [5, 8],
              [5, 9],
              [6, 9],
            ],
            input: "k",
            positions: "S2",
          },
        ]
      : [
          ...(["q", "k", "v"] as const).map((input) => ({
            what: `top path heads (layer ≥ 1) ${input}`,
            heads: pathTop.filter(([l]) => l > 0),
            input,
            positions: "end",
          })),
          { what: "L1H1 values", heads: [[1, 1]], input: "v", positions: "S1+1" },
        ];
  for (const spec of specs.filter((x) => x.heads.length)) {
    const res = await pathPatching.getPathPatchHeadToHeads(model, metric, {
      origDataset: ds,
      newDataset: flipped,
      receiverHeads: spec.heads,
      receiverInput: spec.input,
      positions: spec.positions,
    });
    log("");
    log(
      layerHeadTable(
        res.scores,
        `Path patching: head → ${spec.what} (${spec.heads.map(headName).join(", ")}) at ${spec.positions}`,
      ),
    );
  }
}

/** The notebook's circuit (defaultCircuit) validated with its minimality sets, then generate with its hook. */
async function printNotebookCircuit(
  model: HookedTransformer,
  ds: IOIDataset,
  flipped: IOIDataset,
  log: Log,
): Promise<{ circuitScore: number; fullModelScore: number }> {
  const { circuit, seqPosToKeep, kForEachComponent } = defaultCircuit(model);
  log("");
  log("The notebook's circuit:");
  for (const [k, heads] of Object.entries(circuit))
    log(`  ${k} (${JSON.stringify(seqPosToKeep[k])}): ${heads.map(headName).join(", ")}`);
  const common = { dataset: ds, meansDataset: flipped, circuit, seqPosToKeep };
  const circuitScore = await circuits.getCircuitScore(model, common);
  const { scores: mins, fullModelScore } = await circuits.getAllMinimalityScores(model, {
    ...common,
    kForEachComponent,
  });
  log(`Average logit difference (IOI dataset, using entire model): ${fmt(fullModelScore)}`);
  log(`Average logit difference (IOI dataset, only using circuit): ${fmt(circuitScore)}`);
  log(
    table(
      ["head", "K", "F(C \\ K)", "F(C \\ (K ∪ v))", "minimality"],
      mins.map((m) => [headName(m.head), m.K.map(headName).join(" ") || "∅", m.withoutK, m.withoutKv, m.score]),
      "Minimality scores",
    ),
  );
  const h = await circuits.addMeanAblationHook(model, flipped, circuit, seqPosToKeep);
  try {
    const withHook = ioi.ioiMetric(model, ds)((await model.forward(ds.toks)) as Tensor);
    log(`forward with the permanent mean-ablation hook: logit diff ${fmt(withHook)} (= the circuit score)`);
    const out = (await model.generate(ds.toks, { maxNewTokens: 3, doSample: false, stopAtEos: false })) as Tensor;
    const full = ds.toks.shape[1]!;
    const unpadded = Array.from({ length: ds.N }, (_, i) => i)
      .filter((i) => ds.toks.get(i, full - 1).item() !== 50256)
      .slice(0, 3);
    for (const i of unpadded) {
      log(
        `generate (circuit only): ${JSON.stringify(ds.sentences[i])} → ${JSON.stringify(model.toString(out.get(i).narrow(0, full, 3)))}`,
      );
    }
  } finally {
    h.remove();
  }
  return { circuitScore, fullModelScore };
}

export async function runIoiCircuit(model: HookedTransformer, o: IoiCircuitOptions = {}): Promise<IoiCircuitResults> {
  const print = o.print ?? true;
  const log: Log = (s = "") => {
    if (print) console.log(s);
  };
  const opts = { n: o.N ?? 100, seed: o.seed ?? 1 };
  const pipeline = await ioi.runIoiPipeline(model, { ...opts, log: print ? (s) => console.error(s) : undefined });
  const { dataset: ds, flipped } = ioi.makeIoiData(model, opts); // the pipeline's dataset and corruption
  log(
    `model: ${model.cfg.modelName}; IOIDataset(prompt_type="mixed", N=${ds.N}, seed=${opts.seed}); corrupted: genFlippedPrompts("${pipeline.dataset.flip}")`,
  );
  printPipeline(pipeline, log);
  const flips = await printFlips(model, ds, log);
  await printBackupAndCopy(model, ds, pipeline, log);
  await printReceivers(model, ds, flipped, pipeline, log);
  const scores = await printNotebookCircuit(model, ds, flipped, log);
  return { pipeline, swappedLogitDiff: flips.swapped, positionalFlipLogitDiff: flips.positional, ...scores };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const model = await loadModel(args);
  const t0 = performance.now();
  await runIoiCircuit(model, { N: intArg(args, "n", 100), seed: intArg(args, "seed", 1) });
  console.error(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

if (isMain(import.meta.url)) await main();
