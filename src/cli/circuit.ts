// `tlens circuit`: edge attribution (EAP or EAP-IG) of a task on a model, the circuit of its strongest edges, and
// node attribution beside exact activation patching, written as a self-contained HTML report (index.html: circuit
// viewer, node-attribution heatmaps, attribution-vs-patching scatter) and circuit.json (graph, scores, figures' data).
// The output folder is checked before the model loads; the files are replaced as one set (cli/output.ts).
import { join } from "node:path";
import { HookedTransformer } from "../model/hooked-transformer.js";
import type { Tensor } from "../tensor/index.js";
import {
  applyTopN,
  attrPatchAttnHeadOutAllPos,
  attrPatchResidPre,
  attributeEdges,
  faithfulnessCurveData,
  graphToJson,
  greaterThanTask,
  inductionTask,
  ioiTask,
  pearson,
  spearman,
  EDGE_METHODS,
  type AttributionTask,
  type EdgeMethod,
} from "../analysis/attribution/index.js";
import { getActPatchAttnHeadOutAllPos } from "../analysis/patching/index.js";
import { attributionScatter, faithfulnessCurve } from "../viz/attribution-figures.js";
import { circuitViewer } from "../viz/circuit.js";
import { imshow } from "../viz/figures.js";
import { heading, text, toHtml } from "../viz/html.js";
import type { Item } from "../viz/types.js";
import { commandArgs, intFlag, parseFlags, stringFlag } from "./args.js";
import { checkOutputDir, writeFilesAtomic } from "./output.js";

export const CIRCUIT_USAGE = `usage: tlens circuit [--model <name|dir>] [--task ioi|greater-than|induction] [--method eap|eap-ig|eap-ig-activations] [--out <dir>]

Scores every edge of the model's computational graph on a task (EAP, or EAP-IG with --steps), keeps the strongest
edges as the circuit and writes <dir>/index.html (a self-contained report: open it as a file, offline) and
<dir>/circuit.json (the graph with every score, node attribution, attribution vs activation patching).

options:
  --model <name|dir>   model name (toy-ioi, gpt2-small, ...) or a model folder (default toy-ioi)
  --task <T>           ioi, greater-than or induction (default ioi)
  --method <M>         eap, eap-ig (integrated gradients on the input embeddings) or eap-ig-activations (on
                       each sender group's output in turn; steps × (1 + 2 n_layers) backwards) (default eap-ig)
  --steps <K>          EAP-IG interpolation steps (default 5)
  --n <N>              prompts (default 20)
  --top <E>            edges kept in the circuit (default 100)
  --out <dir>          output folder (default circuit)
  --verbose            stack traces with errors (also TLENS_DEBUG=1)
  -h, --help           this help`;

const TASKS = ["ioi", "greater-than", "induction"] as const;
type TaskName = (typeof TASKS)[number];

interface ParsedArgs {
  model: string;
  task: TaskName;
  method: EdgeMethod;
  steps: number;
  n: number;
  top: number;
  out: string;
}

function parseArgs(argv: readonly string[]): ParsedArgs | string {
  const r: ParsedArgs = { model: "toy-ioi", task: "ioi", method: "eap-ig", steps: 5, n: 20, top: 100, out: "circuit" };
  let bad: string | undefined;
  const error = parseFlags(argv, {
    "--model": stringFlag((v) => {
      r.model = v;
    }),
    "--out": stringFlag((v) => {
      r.out = v;
    }),
    "--task": stringFlag((v) => {
      if ((TASKS as readonly string[]).includes(v)) r.task = v as TaskName;
      else bad = `--task: one of ${TASKS.join(", ")} (got ${v})`;
    }),
    "--method": stringFlag((v) => {
      if ((EDGE_METHODS as readonly string[]).includes(v)) r.method = v as EdgeMethod;
      else bad = `--method: one of ${EDGE_METHODS.join(", ")} (got ${v})`;
    }),
    "--steps": intFlag(1, 1000, (n) => {
      r.steps = n;
    }),
    "--n": intFlag(1, Infinity, (n) => {
      r.n = n;
    }),
    "--top": intFlag(1, Infinity, (n) => {
      r.top = n;
    }),
    "--verbose": () => {}, // read by main.ts
  });
  return error ?? bad ?? r;
}

function makeTask(model: HookedTransformer, p: ParsedArgs): AttributionTask {
  if (p.task === "ioi") return ioiTask(model, { n: p.n });
  if (p.task === "greater-than") return greaterThanTask(model, { n: p.n });
  return inductionTask(model, { batch: p.n });
}

const nested = (t: Tensor): number[][] => t.toArray() as number[][];

/** Node attribution of the head outputs beside exact activation patching (both minus the corrupted run's metric). */
async function headComparison(
  model: HookedTransformer,
  task: AttributionTask,
): Promise<{ attribution: number[][]; patching: number[][] }> {
  const { clean, corrupted, metric } = task;
  const attribution = await attrPatchAttnHeadOutAllPos(model, { clean, corrupted, metric });
  const [, cleanCache] = await model.runWithCache(clean);
  const base = metric(await model.forward(corrupted)).item();
  const patching = (await getActPatchAttnHeadOutAllPos(model, corrupted, cleanCache, metric)).sub(base);
  return { attribution: nested(attribution), patching: nested(patching) };
}

/** `tlens circuit ...`: returns the exit code (user errors are thrown, as TlensErrors, for main's handler). */
export async function circuitCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs("circuit", CIRCUIT_USAGE, argv, parseArgs);
  if (typeof parsed === "number") return parsed;
  const start = Date.now();
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const out = await checkOutputDir(parsed.out);
  log(`tlens circuit: loading ${parsed.model}`);
  const model = await HookedTransformer.fromPretrained(parsed.model);
  const task = makeTask(model, parsed);
  const { clean, corrupted, metric } = task;
  const progressBar = Boolean(process.stderr.isTTY);
  const graph = await attributeEdges(model, {
    clean,
    corrupted,
    metric,
    method: parsed.method,
    steps: parsed.steps,
    progressBar,
  });
  const sizes = [
    ...new Set([10, 20, 50, 100, 200, 500, 1000, parsed.top].filter((n) => n < graph.edges.length)),
    graph.edges.length,
  ].sort((a, b) => a - b);
  const faith = await faithfulnessCurveData(model, graph, sizes, { clean, corrupted, metric, randomDraws: 3 });
  const kept = applyTopN(graph, Math.min(parsed.top, graph.edges.length));
  const residPre = nested(await attrPatchResidPre(model, { clean, corrupted, metric, progressBar }));
  const heads = await headComparison(model, task);
  const metrics = {
    clean: metric(await model.forward(clean)).item(),
    corrupted: metric(await model.forward(corrupted)).item(),
  };
  const flat = { attribution: heads.attribution.flat(), patching: heads.patching.flat() };
  const labels = heads.attribution.flatMap((row, l) => row.map((_, h) => `a${l}.h${h}`));
  const stats = {
    pearson: pearson(flat.attribution, flat.patching),
    spearman: spearman(flat.attribution, flat.patching),
  };
  const title = `Circuit (${parsed.method}) of ${parsed.task} on ${parsed.model}`;
  const items: Item[] = [
    heading(title, 1),
    text(
      `${clean.shape[0]} prompt pairs; metric clean ${metrics.clean.toFixed(4)}, corrupted ${metrics.corrupted.toFixed(4)}. ` +
        `${graph.edges.length} edges scored (${parsed.method}${parsed.method !== "eap" ? `, ${parsed.steps} steps` : ""}); the ${parsed.top} strongest kept, ${kept} on an input → logits path.`,
    ),
    heading("Circuit", 2),
    circuitViewer(graph, { title }),
    heading("Faithfulness", 2),
    text(
      "The normalised metric (1 = the clean run, 0 = the corrupted) of the top-n circuit, every other edge patched from the corrupted run, beside random circuits of the same sizes.",
    ),
    faithfulnessCurve({
      sizes: faith.sizes,
      faithfulness: faith.faithfulness,
      random: faith.random,
      method: parsed.method,
    }),
    heading("Node attribution", 2),
    imshow(residPre, { title: "Attribution patching: resid_pre (denoising)", labels: { x: "position", y: "layer" } }),
    imshow(heads.attribution, {
      title: "Attribution patching: head outputs, all positions",
      labels: { x: "head", y: "layer" },
    }),
    heading("Attribution vs activation patching", 2),
    attributionScatter({ ...flat, labels }),
  ];
  const json = {
    model: parsed.model,
    task: parsed.task,
    method: parsed.method,
    steps: parsed.method !== "eap" ? parsed.steps : null,
    metric: metrics,
    graph: graphToJson(graph),
    node_attribution: { resid_pre: residPre, head_out_all_pos: heads.attribution },
    patching: { head_out_all_pos: heads.patching },
    scatter: { ...stats, labels },
    faithfulness: { sizes: faith.sizes, circuit: faith.faithfulness, random: faith.random },
  };
  await writeFilesAtomic(out, { "index.html": toHtml(items, { title }), "circuit.json": JSON.stringify(json) });
  log(
    `tlens circuit: wrote ${join(out, "index.html")} and ${join(out, "circuit.json")} in ${((Date.now() - start) / 1000).toFixed(1)}s ` +
      `(heads: attribution vs patching Pearson r ${stats.pearson.toFixed(3)})`,
  );
  return 0;
}
