// The dataset layer's error: bad options (unknown prompt type or flip, odd N with symmetric, ...) and inputs
// the Python generator would reject (a name that is not in the prompt, ...).
import { TlensError } from "../errors.js";

/** Bad dataset options or inputs (the message says which option and what it accepts). */
export class DatasetError extends TlensError {
  override name = "DatasetError";
}
