// The figures of a merged sweep result: one heatmap per grid, the same for `tlens sweep --html` and the lab's queue
// sweeps.
import { Tensor } from "../tensor/index.js";
import { imshow } from "../viz/index.js";
import type { Figure } from "../viz/types.js";
import type { SweepResult } from "../jobs/merge.js";

/** One heatmap per grid (the last axis across, the one before down; a third axis as facets). */
export function sweepFigures(r: SweepResult): Figure[] {
  return Object.entries(r.grids).map(([kind, g]) => {
    const t = Tensor.fromTypedArray(Float32Array.from(g.values), g.shape); // [..., axes[n-2], axes[n-1]]
    const n = g.axes.length;
    return imshow(t, {
      title: `${kind} patching: ${r.spec.task.name} metric over ${r.nPairs} pairs`,
      labels: { x: g.axes[n - 1]!, y: g.axes[n - 2]! },
      ...(n === 3 ? { facetCol: 2 } : {}),
    });
  });
}
