// Non-finite weights (NaN, ±Inf) are refused at load time, naming the tensor: they would otherwise turn every
// activation downstream into NaN with no hint of where it came from.
import { LoadError } from "../errors.js";

// TransformerLens's attention buffer `blocks.{l}.attn.IGNORE` is -inf by design (TL's state dicts carry it; tlens
// ignores it when loading), so it is the one name exempt.
const EXEMPT = /(^|\.)IGNORE$/;

/** Throws a LoadError when `data` holds a NaN or an infinity (reports how many and the first one). */
export function checkFinite(data: Float32Array | Float64Array, tensorName: string, fileName: string): void {
  if (EXEMPT.test(tensorName)) return;
  let first = -1;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    // x - x is 0 for finite x, NaN for NaN and ±Inf: one test per element
    if (data[i]! - data[i]! !== 0) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count === 0) return;
  throw new LoadError(
    `${fileName}: tensor "${tensorName}": ${count} non-finite value${count > 1 ? "s" : ""} (the first: ${data[first]} at element ${first}); ` +
      "the file is corrupt or the model diverged — pass allowNonFinite: true to load it anyway",
  );
}
