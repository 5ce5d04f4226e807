// The faithfulness curve's data: for each circuit size, the top-n circuit of the scored graph (pruned) evaluated
// with evaluateCircuit, as the normalised metric (1 = the clean run, 0 = the corrupted), beside circuits of the same
// sizes chosen from random scores (seeded draws). viz.faithfulnessCurve draws it.
import { Generator } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import { AttributionError } from "./errors.js";
import { Graph } from "./graph.js";
import { applyTopN } from "./prune.js";
import { evaluateCircuit, type EvaluateOptions } from "./evaluate.js";

export interface FaithfulnessOptions extends EvaluateOptions {
  /** Random-circuit draws per size (default 3; 0 for none) and their seed (default 0). */
  randomDraws?: number;
  seed?: number;
}

export interface FaithfulnessResult {
  sizes: number[];
  faithfulness: number[];
  /** One row per random draw. */
  random: number[][];
  metricClean: number;
  metricCorrupted: number;
}

async function curve(
  model: HookedTransformer,
  g: Graph,
  sizes: readonly number[],
  o: EvaluateOptions,
  norm: (m: number) => number,
): Promise<number[]> {
  const out: number[] = [];
  for (const n of sizes) {
    applyTopN(g, n);
    out.push(norm(await evaluateCircuit(model, g, o)));
  }
  return out;
}

/** The curve for a scored graph; its in-graph flags are left at the last size's circuit. */
export async function faithfulnessCurveData(
  model: HookedTransformer,
  g: Graph,
  sizes: readonly number[],
  o: FaithfulnessOptions,
): Promise<FaithfulnessResult> {
  if (sizes.some((n, i) => !Number.isInteger(n) || n < 1 || n > g.edges.length || (i > 0 && n <= sizes[i - 1]!))) {
    throw new AttributionError(
      `faithfulness: sizes must be ascending integers in [1, ${g.edges.length}], got [${sizes.join(", ")}]`,
    );
  }
  const whole = Graph.fromConfig(g.cfg);
  whole.setAll(true);
  const none = Graph.fromConfig(g.cfg);
  none.setAll(false);
  const metricClean = await evaluateCircuit(model, whole, o);
  const metricCorrupted = await evaluateCircuit(model, none, o);
  const norm = (m: number): number => (m - metricCorrupted) / (metricClean - metricCorrupted);
  const rng = new Generator(o.seed ?? 0);
  const random: number[][] = [];
  for (let d = 0; d < (o.randomDraws ?? 3); d++) {
    const r = Graph.fromConfig(g.cfg);
    r.setScores(r.edges.map(() => rng.uniform()));
    random.push(await curve(model, r, sizes, o, norm));
  }
  return {
    sizes: [...sizes],
    faithfulness: await curve(model, g, sizes, o, norm),
    random,
    metricClean,
    metricCorrupted,
  };
}
