// Streams one hook point's activations over a token dataset in shuffled batches, as SAELens's ActivationsStore:
// the model runs on token rows [rows, ctx] (stopping after the hook's block), the activations [rows · ctx, d]
// go into a shuffle buffer, and batches are drawn from a random half of it while the other half waits.
import { SaeError } from "../errors.js";
import { Generator, noGrad, Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";

export interface ActivationStoreOptions {
  /** the hook point, e.g. "blocks.2.hook_resid_pre" */
  hookName: string;
  /** token rows [n, ctx] (int32); rows are visited in order and the dataset repeats when exhausted */
  tokens: Tensor;
  /** rows per model run (default 16) */
  rowsPerRun?: number;
  /** activations the shuffle buffer holds (default 32768) */
  bufferSize?: number;
  /** leave out each row's first position (the BOS token's activations are outliers; default true) */
  skipFirstPosition?: boolean;
  /** seed of the shuffle (default 0) */
  seed?: number;
  /** keep the first pass's activations and reuse them when the dataset repeats, while they fit in this many
   *  bytes (default 512 MiB; 0 runs the model every time) */
  reuseBytes?: number;
}

/** The block a hook point lives in, or the layer its forward can stop at: hook_embed etc. need no block. */
export function hookLayer(hookName: string, nLayers: number): number {
  const m = /^blocks\.(\d+)\./.exec(hookName);
  if (!m) {
    if (/^hook_(embed|pos_embed|tokens)$/.test(hookName)) return -1;
    throw new SaeError(
      `activation store: "${hookName}" is not a hook point inside a block (blocks.L....) or an embedding hook`,
    );
  }
  const l = Number(m[1]);
  if (l >= nLayers)
    throw new SaeError(`activation store: "${hookName}" names block ${l}, but the model has ${nLayers} blocks`);
  return l;
}

/** SAELens's activation store: runs the model over token rows, keeps the hook's activations (BOS dropped) in a
 *  shuffle buffer and serves random training batches [batch, d_in] from it, reusing the first pass when the data
 *  repeats. */
export class ActivationStore {
  readonly dIn: number;
  private readonly buffer: Float32Array;
  /** activations in the buffer */
  private filled = 0;
  private nextRow = 0;
  /** activations of each run by its first row, while they fit reuseBytes */
  private readonly reused = new Map<number, Float32Array>();
  private reusedBytes = 0;
  /** activations of the last run that did not fit the buffer */
  private pending: Float32Array | null = null;
  private readonly rng: Generator;
  private readonly stopAt: number;
  /** token rows run so far, and the tokens whose activations were stored */
  rowsRun = 0;
  tokensSeen = 0;

  constructor(
    readonly model: HookedTransformer,
    readonly o: ActivationStoreOptions,
  ) {
    if (o.tokens.ndim !== 2 || o.tokens.shape[0] === 0)
      throw new SaeError(
        `activation store: tokens must be [rows, ctx] with rows > 0, got [${o.tokens.shape.join(", ")}]`,
      );
    if (!model.hookPoints.has(o.hookName))
      throw new SaeError(`activation store: the model has no hook point "${o.hookName}"`);
    this.stopAt = hookLayer(o.hookName, model.cfg.nLayers) + 1;
    this.dIn = model.cfg.dModel;
    this.buffer = new Float32Array((o.bufferSize ?? 32768) * this.dIn);
    this.rng = new Generator(o.seed ?? 0);
  }

  /** The hook's activations over the next `rowsPerRun` rows: [rows · ctx', d] row-major (ctx' = ctx − 1 when
   *  the first position is skipped). */
  async nextActivations(): Promise<Float32Array> {
    const { tokens } = this.o;
    const first = this.nextRow;
    const rows = Math.min(this.o.rowsPerRun ?? 16, tokens.shape[0]! - first);
    this.nextRow = (first + rows) % tokens.shape[0]!;
    this.rowsRun += rows;
    const known = this.reused.get(first);
    const acts = known ?? (await this.runModel(tokens.narrow(0, first, rows)));
    this.tokensSeen += acts.length / this.dIn;
    if (!known && this.reusedBytes + acts.byteLength <= (this.o.reuseBytes ?? 512 * 2 ** 20)) {
      this.reused.set(first, acts);
      this.reusedBytes += acts.byteLength;
    }
    // read only: the buffer copies what it takes
    return acts;
  }

  /** The hook's activations over token rows [rows, ctx]: [rows · ctx', d] row-major. */
  private async runModel(batch: Tensor): Promise<Float32Array> {
    let acts: Tensor | null = null;
    await noGrad(() =>
      this.model.runWithHooks(batch, {
        // the forward stops after the hook's block; an embedding hook needs none (stopAtLayer 0)
        stopAtLayer: Math.max(this.stopAt, 0),
        fwdHooks: [
          [
            this.o.hookName,
            (a: Tensor) => {
              acts = a;
            },
          ],
        ],
      }),
    );
    const a = acts as Tensor | null;
    if (!a || a.ndim !== 3 || a.shape[2] !== this.dIn)
      throw new SaeError(
        `activation store: "${this.o.hookName}" did not give [batch, pos, ${this.dIn}] activations (a hook point with another width needs an SAE of that width)`,
      );
    const skip = this.o.skipFirstPosition === false ? 0 : 1;
    const kept = a.narrow(1, skip, a.shape[1]! - skip).contiguous();
    return Float32Array.from(kept.to("float32").dataSync() as Float32Array);
  }

  /** A batch of `n` activations [n, d] drawn from the shuffled buffer (refilled from the model as it drains). */
  async nextBatch(n: number): Promise<Float32Array> {
    const cap = this.buffer.length / this.dIn;
    if (n > cap / 2)
      throw new SaeError(
        `activation store: a batch of ${n} needs a buffer of at least ${2 * n} activations (bufferSize is ${cap})`,
      );
    // below half (plus the batch): refill to capacity, keeping a run's overflow for the next refill
    if (this.filled < cap / 2 + n) {
      while (this.filled < cap) {
        const acts = this.pending ?? (await this.nextActivations());
        const take = Math.min(acts.length / this.dIn, cap - this.filled);
        this.buffer.set(acts.subarray(0, take * this.dIn), this.filled * this.dIn);
        this.filled += take;
        this.pending = take * this.dIn < acts.length ? acts.subarray(take * this.dIn) : null;
      }
    }
    return this.drawBatch(n);
  }

  /** Moves n random activations out of the buffer (the last ones fill their places). */
  private drawBatch(n: number): Float32Array {
    const d = this.dIn,
      buf = this.buffer;
    const out = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      const pick = Math.floor(this.rng.uniform() * this.filled);
      out.set(buf.subarray(pick * d, pick * d + d), r * d);
      this.filled--;
      buf.copyWithin(pick * d, this.filled * d, this.filled * d + d);
    }
    return out;
  }
}
