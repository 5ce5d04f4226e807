// The IOI report: IoiResults (analysis/ioi, runIoiPipeline) → the report's items (headings, prose, tables,
// figures, attention viewers), for toHtml. Draws only: every number comes from the results.
import { stack, type Tensor } from "../tensor/index.js";
import type { Head } from "../analysis/path-patching.js";
import { headName, type IoiResults } from "../analysis/ioi/results.js";
import { bar, hist, imshow, line, scatter, type ImshowOptions } from "./figures.js";
import { attentionHeads, attentionPatterns, valueWeightedPatterns } from "./viewers.js";
import { heading, html, table, text } from "./html.js";
import { qualitative } from "./colors.js";
import type { Item } from "./types.js";

type Nested = number[][];

const nested = (t: Tensor): Nested => t.toArray() as Nested;
const names = (heads: readonly Head[]): string[] => heads.map(headName);

function section(title: string, id: string, explanation: string): Item[] {
  return [heading(title, 2, id), text(explanation)];
}

function intro(r: IoiResults): Item[] {
  const { model, dataset: d } = r;
  const toc = [
    ["logit-diff", "Logit difference"],
    ["logit-lens", "Logit lens"],
    ["dla", "Direct logit attribution"],
    ["act-patching", "Activation patching"],
    ["head-patching", "Head patching"],
    ...(r.pathPatching ? [["path-patching", "Path patching"]] : []),
    ["attention", "Attention of the top heads"],
    ["detectors", "Head detectors"],
    ["copy", "Copy scores"],
    ["circuit", "Circuit validation"],
    ["viewers", "Attention viewers"],
  ];
  return [
    text(
      `Model **${model.name}** (${model.nLayers} layers × ${model.nHeads} heads, d_model ${model.dModel}); ${d.N} IOI prompts (\`${d.promptType}\` templates, seed ${d.seed}). ` +
        `The corrupted prompts are the dataset's \`genFlippedPrompts("${d.flip}")\`: all three names replaced by fresh ones, so the answer is gone from the context. ` +
        "Positions are aligned across templates by the dataset's word labels (IO, S1, S2, end, ...), as in the IOI paper. All numbers are in `results.json` beside this file.",
    ),
    html(`<nav class="tlens-toc">${toc.map(([id, t]) => `<a href="#${id}">${t}</a>`).join("<br>")}</nav>`),
  ];
}

function logitDiffSection(r: IoiResults): Item[] {
  const ld = r.logitDiff;
  const d = r.dataset;
  return [
    ...section(
      "Logit difference",
      "logit-diff",
      "logit[IO] − logit[S] at each prompt's `end` token (the position before the answer), on the clean prompts and on the XYZ-corrupted ones. " +
        "A model that does IOI puts the clean distribution well above zero; the corrupted prompts, which no longer contain the answer, sit near zero.",
    ),
    table(
      [
        ["clean", ld.clean, ld.cleanAccuracy],
        ["flipped (XYZ)", ld.flipped, ld.flippedAccuracy],
      ],
      { columns: ["prompts", "mean logit diff", "fraction > 0"] },
    ),
    table(
      Array.from({ length: Math.min(5, d.N) }, (_, i) => [
        d.sentences[i],
        d.flippedSentences[i],
        ld.cleanPerPrompt[i],
        ld.flippedPerPrompt[i],
      ]),
      { columns: ["clean prompt", "flipped prompt", "clean LD", "flipped LD"], caption: "The first prompts" },
    ),
    hist([ld.cleanPerPrompt, ld.flippedPerPrompt], {
      names: ["clean", "flipped (XYZ)"],
      labels: { variable: "prompts", value: "logit[IO] − logit[S] at end" },
      opacity: 0.6,
      marginal: "box",
      nbins: 40,
      template: "simple_white",
      title: "Per-prompt logit difference",
      height: 450,
    }),
  ];
}

function attributionSections(r: IoiResults): Item[] {
  const { logitLens: lens, dlaLayers } = r;
  return [
    ...section(
      "Logit lens",
      "logit-lens",
      "The residual stream after each layer, put through the final layer norm and the unembedding: the logit difference the model " +
        "would output if it stopped there (`logitLens`, mean over prompts at `end`). Where it rises is where the answer gets written.",
    ),
    line(lens.logitDiff, {
      x: lens.labels.map((_, i) => i / 2),
      hoverName: lens.labels,
      labels: { x: "Layer", y: "Logit Diff" },
      title: "Logit Difference From Accumulated Residual Stream",
      markers: true,
    }),
    ...section(
      "Direct logit attribution",
      "dla",
      "Each component's direct contribution to the logit difference: its output at `end`, divided by the final norm's scale, " +
        "dotted with W_U[IO] − W_U[S] (`dlaByLayer`, `ioiHeadDla`). Positive heads push the answer (name movers), negative ones push against it.",
    ),
    line(dlaLayers.values, {
      hoverName: dlaLayers.labels,
      x: dlaLayers.labels,
      labels: { x: "Layer Activation (Attention/MLP)", y: "Logit Diff" },
      title: "Logit Difference From Each Layer",
      markers: true,
    }),
    imshow(r.dlaHeads.perHead, {
      labels: { x: "Head", y: "Layer", color: "Logit diff" },
      title: "Logit Difference From Each Head",
      textAuto: ".2f",
    }),
  ];
}

function patchingSections(r: IoiResults): Item[] {
  const p = r.patching;
  const { nLayers: L, nHeads: H } = r.model;
  const headLabels = Array.from({ length: L * H }, (_, i) => headName([Math.floor(i / H), i % H]));
  const layerOfHead = Array.from({ length: L * H }, (_, i) => Math.floor(i / H));
  const [headOut, , , headV, headPattern] = p.heads.unbind(0);
  const versus = (x: Tensor, xaxis: string, title: string): Item =>
    scatter(x.flatten(), headOut!.flatten(), {
      xaxis,
      yaxis: "Output Patch",
      caxis: "Layer",
      hoverName: headLabels,
      color: layerOfHead,
      title,
      width: 620,
      height: 480,
    });
  return [
    ...section(
      "Activation patching",
      "act-patching",
      "Run the corrupted prompts, patch in one clean activation (the residual stream entering a layer, an attention layer's output or an " +
        "MLP's output) at one word position, and measure the fraction of the clean logit difference restored: " +
        "(LD − LD_flipped) / (LD_clean − LD_flipped); 1 = fully restored, 0 = no effect. Each prompt is patched at its own position of that word.",
    ),
    imshow([nested(p.residPre), nested(p.attnOut), nested(p.mlpOut)], {
      facetCol: 0,
      facetLabels: ["Residual Stream", "Attn Output", "MLP Output"],
      x: [...p.positions],
      labels: { x: "Position", y: "Layer", color: "restored" },
      title: "Fraction of logit difference restored by patching at each word position",
      aspect: "auto",
      height: 380,
    }),
    ...section(
      "Head patching",
      "head-patching",
      "The same, patching one head's output (z), query, key, value or attention pattern at every position (`getActPatchAttnHeadAllPosEvery`). " +
        "Output patching finds the heads that matter; comparing it with value and pattern patching tells whether a head matters for what it moves or for where it looks.",
    ),
    imshow(p.heads, {
      facetCol: 0,
      facetLabels: ["Output", "Query", "Key", "Value", "Attn Pattern"],
      labels: { x: "Head", y: "Layer", color: "restored" },
      title: "Activation Patching Per Head (All Pos)",
      height: 320,
    }),
    versus(headV!, "Value Patch", "Output patching vs value patching"),
    versus(headPattern!, "Attention Patch", "Output patching vs attention-pattern patching"),
  ];
}

function pathPatchingSection(r: IoiResults): Item[] {
  const pp = r.pathPatching;
  if (!pp) return [];
  const toHeads = (t: Tensor | null, what: string, heads: readonly Head[]): Item[] =>
    t
      ? [
          imshow(t.mul(100), {
            title: `Direct effect on ${what} (${names(heads).join(", ")})`,
            labels: { x: "Head", y: "Layer", color: "Logit diff.<br>variation (%)" },
            y: Array.from({ length: t.shape[0]! }, (_, i) => i),
            textAuto: ".1f",
            width: 600,
          }),
        ]
      : [];
  return [
    ...section(
      "Path patching",
      "path-patching",
      "Patch one sender head's output from the corrupted run while every other head stays frozen, and let the effect reach only " +
        "the receiver: the logits (the head's direct effect), or the queries (at `end`) of the name movers — the heads with the largest direct effect — or the values (at S2) of the S-inhibition heads " +
        "that most affect those queries. Scores are the change in logit difference relative to clean − corrupted, in percent (−100% = as bad as the corrupted run).",
    ),
    imshow(pp.toLogits.mul(100), {
      title: "Direct effect on logit difference",
      labels: { x: "Head", y: "Layer", color: "Logit diff. variation (%)" },
      textAuto: ".1f",
      width: 600,
    }),
    ...toHeads(pp.toNameMoverQueries, "Name Mover Heads' queries", pp.nameMovers),
    ...toHeads(pp.toSInhibitionValues, "S-Inhibition Heads' values", pp.sInhibition),
  ];
}

function attentionSection(r: IoiResults): Item[] {
  const { words, toWords, projection: avp, projectionHead } = r.attention;
  return [
    ...section(
      "Attention of the top heads",
      "attention",
      "Where the heads that matter most for output patching attend from `end`: the mean attention probability to each word (error bars: one standard deviation over prompts). " +
        "Then the IOI paper's Figure 3(c) for the head with the largest direct effect: attention to a name against how much the head's output writes that name's unembedding.",
    ),
    bar(
      toWords.map((w) => words.map((x) => w.mean[x])),
      {
        x: words,
        names: toWords.map((w) => headName(w.head)),
        errorY: toWords.map((w) => words.map((x) => w.std[x]!)),
        labels: { x: "word", y: "attention from end", variable: "head" },
        title: "Attention from END to each word (top heads by output patching)",
      },
    ),
    scatter([...avp.attnToIO, ...avp.attnToS], [...avp.projectionIO, ...avp.projectionS], {
      color: [...avp.attnToIO.map(() => "IO"), ...avp.attnToS.map(() => "S")],
      labels: { x: "Attn prob on name", y: "Dot w Name Embed", color: "Name type" },
      colorDiscreteSequence: ["#72FF64", "#C9A5F7"],
      title: `Projection of the output of ${headName(projectionHead)} along the name embedding vs attention probability on name`,
      width: 650,
    }),
  ];
}

function detectorsAndCopySections(r: IoiResults): Item[] {
  const det = r.headDetectors;
  const cs = r.copyScores;
  const { nLayers: L, nHeads: H } = r.model;
  const scoreMap = (ts: Tensor[], facetLabels: string[], title: string, extra: ImshowOptions): Item =>
    imshow(ts.map(nested), {
      facetCol: 0,
      facetLabels,
      labels: { x: "Head", y: "Layer", color: "score" },
      title,
      ...extra,
    });
  const blues = { colorContinuousScale: "Blues", colorContinuousMidpoint: null, zmin: 0, zmax: 1 } as const;
  return [
    ...section(
      "Head detectors",
      "detectors",
      `TransformerLens's head detector scores (\`detectHead\`) on ${det.prompts} prompts: the attention mass on the previous token, on an earlier copy of the current token, ` +
        "and (on each prompt repeated twice) on the token after an earlier copy — the induction pattern. Early IOI heads are of these kinds.",
    ),
    scoreMap(
      [det.previousToken, det.duplicateToken, det.induction],
      ["Previous token", "Duplicate token", "Induction"],
      "Head detector scores",
      { ...blues, height: 320 },
    ),
    ...section(
      "Copy scores",
      "copy",
      "How much each head's OV circuit copies: Re(Σλ)/Σ|λ| over the eigenvalues of W_V·W_O (`ovCopyingScore`) and of the full circuit W_E·W_V·W_O·W_U (`fullOvCopyingScore`). " +
        "Near 1: the head writes what it attends to (name movers); near −1: it suppresses it (negative name movers, copy suppression).",
    ),
    scoreMap([cs.ovCopying, cs.fullOvCopying], ["OV copying score", "Full OV copying score"], "OV copying scores", {
      zmin: -1,
      zmax: 1,
      textAuto: ".2f",
      height: 360,
    }),
    scatter(cs.fullOvCopying.flatten(), cs.ovCopying.flatten(), {
      hoverName: Array.from({ length: L * H }, (_, i) => headName([Math.floor(i / H), i % H])),
      xaxis: "Full OV Copying Score",
      yaxis: "OV Copying Score",
      title: "OV copying score for each head",
      width: 560,
      height: 480,
    }),
    text(
      `Seed 002's copying scores (\`getCopyingScores\`): each of ${cs.names} names' embedding, plus MLP0's output on it, through the head's OV circuit ` +
        `(or its negative), the final norm and the unembedding; the score is the fraction of names that land in their own top ${cs.k}.`,
    ),
    scoreMap(
      [cs.positive, cs.negative],
      ["Positive copying scores", "Negative copying scores"],
      "Copying scores of attention heads' OV circuits",
      { ...blues, textAuto: ".2f", height: 360 },
    ),
  ];
}

function circuitSection(r: IoiResults): Item[] {
  const c = r.circuit;
  const nHeads = Object.values(c.heads).flat().length;
  const found =
    c.threshold === null
      ? "The circuit given to the pipeline, each class kept at its positions. "
      : `The circuit: every head whose output patching or direct path to the logits moves the metric by at least ${c.threshold} ` +
        "(classes from the path patching above), kept at every position. ";
  return [
    ...section(
      "Circuit validation",
      "circuit",
      found +
        "Every other head's output is replaced by its mean over the flipped prompts of the same template " +
        "(`getCircuitScores`, IOI paper §4); F(C) is the logit difference that remains. Minimality: how much F drops when one circuit head is ablated too, " +
        "as a fraction of F(M), the whole model (`getAllMinimalityScores`).",
    ),
    table(
      [
        ["F(M): the whole model", c.fullModelScore],
        [`F(C): the circuit (${nHeads} heads)`, c.circuitScore],
        ["F(∅): every head mean-ablated", c.noHeadsScore],
        ["faithfulness F(C) / F(M)", c.faithfulness],
      ],
      { columns: ["", "mean logit diff"] },
    ),
    bar(
      c.minimality.map((m) => m.score),
      {
        x: c.minimality.map((m) => headName(m.head)),
        color: c.minimality.map((m) => `${m.class} head`),
        labels: { x: "Attention head", y: "Change in logit diff", color: "Head type" },
        template: "ggplot2",
        colorDiscreteSequence: qualitative.Dark2,
        bargap: 0.02,
        yaxis_tickformat: ".0%",
        legend_title_text: "",
        title: "Minimality scores (as percentages of full model logit diff)",
        width: 800,
        hovermode: "x unified",
      },
    ),
  ];
}

function viewersSection(r: IoiResults): Item[] {
  const { tokens, patterns, valueWeighted, sentence } = r.viewers;
  const { byPatching, byDla } = r.topHeads;
  const of = (heads: readonly Head[]): Tensor => stack(heads.map(([l, h]) => patterns.get(l, h))); // [k, pos, pos]
  return [
    ...section(
      "Attention viewers",
      "viewers",
      `Attention patterns on the first prompt (“${sentence}”). Hover a head to enlarge it (click to lock), hover a cell for its value, ` +
        "hover a token to colour the others by how much it attends to them (or, with the selector, how much they attend to it).",
    ),
    attentionHeads({
      tokens,
      attention: of(byPatching),
      headNames: names(byPatching),
      title: `Top ${byPatching.length} heads by output patching`,
    }),
    valueWeightedPatterns({
      tokens,
      attention: valueWeighted,
      headNames: names(byPatching),
      title: "The same heads, value-weighted (α·‖v‖)",
    }),
    attentionHeads({
      tokens,
      attention: of(byDla),
      headNames: names(byDla),
      title: `Top ${byDla.length} heads by |direct logit attribution|`,
    }),
    ...Array.from({ length: r.model.nLayers }, (_, l) =>
      attentionPatterns({
        tokens,
        attention: patterns.get(l),
        headNames: Array.from({ length: r.model.nHeads }, (_, h) => headName([l, h])),
        title: `Layer ${l}`,
      }),
    ),
  ];
}

/** The report's items, in the order of the pipeline's stages. */
export function ioiReport(r: IoiResults): Item[] {
  return [
    ...intro(r),
    ...logitDiffSection(r),
    ...attributionSections(r),
    ...patchingSections(r),
    ...pathPatchingSection(r),
    ...attentionSection(r),
    ...detectorsAndCopySections(r),
    ...circuitSection(r),
    ...viewersSection(r),
  ];
}
