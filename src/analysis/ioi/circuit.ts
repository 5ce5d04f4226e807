// The circuit half of the IOI pipeline: path patching (heads → logits, → the name movers' queries, → the
// S-inhibition heads' values), and the validation of a circuit by mean ablation with minimality scores.
import type { Tensor } from "../../tensor/index.js";
import { getPathPatchHeadToFinalResidPost, getPathPatchHeadToHeads, type Head } from "../path-patching.js";
import {
  computeMeansByTemplate,
  getAllMinimalityScores,
  getCircuitScores,
  type Circuit,
  type SeqPosToKeep,
} from "../mean-ablation.js";
import { ioiMetric } from "./metric.js";
import type { IoiRuns } from "./stages.js";
import { topHeadsBy } from "./stages.js";
import type { IoiResults } from "./results.js";

type PathResults = NonNullable<IoiResults["pathPatching"]>;

/**
 * Path patching with the noising metric (LD − clean) / (clean − flipped). Name movers: the (up to) three heads past
 * layer 0 whose direct path to the logits matters most (most negative score); S-inhibition heads: the (up to) two
 * heads before the name movers most affecting their queries, when the name movers sit in layer 2 or later.
 */
export async function pathPatching({ model, data, cache, clean, flipped, progressBar }: IoiRuns): Promise<PathResults> {
  const L = model.cfg.nLayers;
  const H = model.cfg.nHeads;
  const metric = ioiMetric(model, data.dataset, { clean, corrupted: flipped });
  const common = { origDataset: data.dataset, newDataset: data.flipped, origCache: cache, progressBar };
  const toLogits = await getPathPatchHeadToFinalResidPost(model, metric, common);
  const nameMovers =
    L > 1
      ? topHeadsBy(toLogits.scores, Math.min(3, (L - 1) * H), (v) => -v, 1).filter(
          ([l, h]) => toLogits.scores.get(l, h).item() < 0,
        )
      : [];
  let toNameMoverQueries: Tensor | null = null;
  let sInhibition: Head[] = [];
  let toSInhibitionValues: Tensor | null = null;
  if (nameMovers.length) {
    toNameMoverQueries = (
      await getPathPatchHeadToHeads(model, metric, {
        ...common,
        receiverHeads: nameMovers,
        receiverInput: "q",
        positions: "end",
      })
    ).scores;
    const minNm = Math.min(...nameMovers.map(([l]) => l));
    if (minNm >= 2) {
      sInhibition = topHeadsBy(toNameMoverQueries.narrow(0, 0, minNm), Math.min(2, minNm * H), (v) => -v, 1);
      if (sInhibition.length) {
        toSInhibitionValues = (
          await getPathPatchHeadToHeads(model, metric, {
            ...common,
            receiverHeads: sInhibition,
            receiverInput: "v",
            positions: "S2",
          })
        ).scores;
      }
    }
  }
  return {
    baseline: toLogits.baseline,
    toLogits: toLogits.scores,
    nameMovers,
    toNameMoverQueries,
    sInhibition,
    toSInhibitionValues,
  };
}

/** A circuit to validate: its heads by class, where each class is kept, and the K of each head's minimality score
 *  (default K = ∅ for every head). */
export interface IoiCircuitChoice {
  circuit: Circuit;
  seqPosToKeep: SeqPosToKeep;
  kForEachComponent?: readonly (readonly [Head, readonly Head[]])[];
}

const key = ([l, h]: Head): string => `${l}.${h}`;

/**
 * The circuit the pipeline finds: every head whose output patching ([layer, head]) or direct path to the logits moves
 * its metric by at least `threshold`, classed as name mover / S-inhibition (from path patching) or other, each kept
 * at every position. With no such head: the top heads by output patching.
 */
export function findCircuit(
  headOut: Tensor,
  path: PathResults | undefined,
  fallback: readonly Head[],
  threshold: number,
): IoiCircuitChoice {
  const [L, H] = headOut.shape as [number, number];
  const headOutD = headOut.dataSync();
  const toLogitsD = path ? path.toLogits.dataSync() : null;
  const important: Head[] = [];
  for (let l = 0; l < L; l++)
    for (let h = 0; h < H; h++) {
      const i = l * H + h;
      if (Math.abs(headOutD[i]!) >= threshold || Math.abs(toLogitsD?.[i] ?? 0) >= threshold) important.push([l, h]);
    }
  if (!important.length) important.push(...fallback);
  const nameMovers = path?.nameMovers ?? [];
  const nmSet = new Set(nameMovers.map(key));
  const siSet = new Set((path?.sInhibition ?? []).map(key));
  const classOf = (hd: Head): string =>
    nmSet.has(key(hd)) ? "name mover" : siSet.has(key(hd)) ? "S-inhibition" : "other";
  const circuit: Record<string, Head[]> = {};
  for (const hd of [...important, ...nameMovers.filter((x) => !important.some((y) => key(y) === key(x)))])
    (circuit[classOf(hd)] ??= []).push(hd);
  return { circuit, seqPosToKeep: Object.fromEntries(Object.keys(circuit).map((c) => [c, "all"])) };
}

/** F(M), F(C), F(∅) and the minimality score of each circuit head, everything outside mean-ablated by template over
 *  the flipped prompts (IOI paper §4). */
export async function validateCircuit(
  { model, data, progressBar }: IoiRuns,
  choice: IoiCircuitChoice,
  threshold: number | null,
): Promise<IoiResults["circuit"]> {
  const { circuit, seqPosToKeep } = choice;
  const circuitHeads = Object.values(circuit).flat();
  const classes = new Map(Object.entries(circuit).flatMap(([c, hs]) => hs.map((hd) => [key(hd), c] as const)));
  const means = await computeMeansByTemplate(model, data.flipped);
  const circ = { dataset: data.dataset, meansDataset: data.flipped, circuit, seqPosToKeep, means, progressBar };
  const [circuitScore, noHeadsScore] = (await getCircuitScores(model, [[], circuitHeads], circ)) as [number, number];
  const kForEachComponent = choice.kForEachComponent ?? circuitHeads.map((hd) => [hd, []] as const);
  const minimality = await getAllMinimalityScores(model, { ...circ, kForEachComponent });
  return {
    heads: circuit,
    seqPosToKeep,
    threshold,
    circuitScore,
    fullModelScore: minimality.fullModelScore,
    noHeadsScore,
    faithfulness: circuitScore / minimality.fullModelScore,
    minimality: minimality.scores.map((m) => ({ ...m, class: classes.get(key(m.head)) ?? "other" })),
  };
}
