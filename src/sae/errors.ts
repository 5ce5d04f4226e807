// The SAE area's error: a config, weight file or splice that does not fit (the message says what to fix).
import { TlensError } from "../errors.js";

/** A bad SAE config (unknown architecture, missing field), weights of the wrong shape, missing tensors, or an SAE
 *  that does not fit the model it is spliced into (unknown hook name, d_in ≠ the hook's width). */
export class SaeError extends TlensError {
  override name = "SaeError";
}
