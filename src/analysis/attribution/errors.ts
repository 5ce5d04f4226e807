// The attribution layer's error: a graph config, score vector or JSON file that does not fit, a pruning request
// that cannot be met, a task input of the wrong shape.
import { TlensError } from "../../errors.js";

export class AttributionError extends TlensError {}
