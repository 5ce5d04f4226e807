// A user-defined task: clean / corrupted prompt pairs with the answer (and optionally a wrong answer) of each. Each
// pair must tokenise to the same length; rows of different lengths are right-padded and read at their own last
// token (causal attention: padding after a position never changes it).
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import { AttributionError } from "../errors.js";
import { logitDiffMetric } from "./metrics.js";
import { checkPair, int32, type AttributionTask } from "./task.js";

export interface PromptPair {
  clean: string;
  corrupted: string;
  /** The token the clean prompt should continue with (one token, e.g. " Mary"). */
  answer: string;
  /** With it the metric is logit[answer] − logit[wrong]; without it the answer's logit. Give it for every pair or none. */
  wrong?: string;
}

/** A task from the user's clean / corrupted prompt pairs (each pair the same token length): metric logit[answer] − logit[wrong] (or the answer's logit) at each row's last token. */
export function pairsTask(
  model: HookedTransformer,
  pairs: readonly PromptPair[],
  opts: { prependBos?: boolean } = {},
): AttributionTask {
  if (!Array.isArray(pairs) || pairs.length === 0)
    throw new AttributionError("pairsTask: pass a non-empty list of { clean, corrupted, answer, wrong? }");
  const withWrong = pairs[0].wrong !== undefined;
  const lengths = pairs.map((p, i) => {
    if (typeof p?.clean !== "string" || typeof p.corrupted !== "string" || typeof p.answer !== "string") {
      throw new AttributionError(`pairsTask: pair ${i} needs strings clean, corrupted and answer`);
    }
    if ((p.wrong !== undefined) !== withWrong)
      throw new AttributionError(
        `pairsTask: pair ${i} ${withWrong ? "has no" : "has a"} wrong answer; give one for every pair or for none`,
      );
    const a = model.toTokens(p.clean, opts).shape[1];
    const b = model.toTokens(p.corrupted, opts).shape[1];
    if (a !== b)
      throw new AttributionError(
        `pairsTask: pair ${i}: the clean prompt is ${a} tokens, the corrupted one ${b}; they must be the same length`,
      );
    return a;
  });
  const single = (s: string, i: number, what: string): number => {
    try {
      return model.toSingleToken(s);
    } catch (err) {
      throw new AttributionError(`pairsTask: pair ${i}: the ${what} ${(err as Error).message}`);
    }
  };
  const answers = pairs.map((p, i) => single(p.answer, i, "answer"));
  const wrong = withWrong ? pairs.map((p, i) => single(p.wrong!, i, "wrong answer")) : null;
  const clean = model.toTokens(
    pairs.map((p) => p.clean),
    { ...opts, paddingSide: "right" },
  );
  const corrupted = model.toTokens(
    pairs.map((p) => p.corrupted),
    { ...opts, paddingSide: "right" },
  );
  checkPair("pairsTask", clean, corrupted);
  const positions = lengths.map((l) => l! - 1);
  return {
    name: "pairs",
    clean,
    corrupted,
    answers: int32(answers),
    positions,
    metric: logitDiffMetric("pairsTask", positions, answers, wrong),
    labels: pairs.map((p) => p.clean),
  };
}
