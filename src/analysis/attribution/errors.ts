// The attribution layer's error: a graph config, score vector or JSON file that does not fit, a pruning request
// that cannot be met, a task input of the wrong shape.
import { AnalysisError } from "../../errors.js";

/** An attribution input that does not fit (an AnalysisError, as attribution is one of the analyses). */
export class AttributionError extends AnalysisError {
  override name = "AttributionError";
}
