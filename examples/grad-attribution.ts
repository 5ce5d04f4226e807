// Gradient × activation attribution of the IOI logit difference per head (attribution patching, AtP): one clean
// forward + backward with runWithCache({ inclBwd: true }) gives d(logit diff)/d(hook_z) for every head at once;
// (z_corrupted − z_clean) · grad, summed over prompts, positions and d_head, estimates
// what patching that head's output from the XYZ-corrupted run into the clean run does to the logit difference.
// The script prints the estimate beside the real patching effect (one run per head) and the saliency z · grad,
// and checks the gradient cache against an identity: the metric is linear in ln_final's output, so
// Σ ln_final.hook_normalized · its gradient + the b_U difference = the logit difference.
//
//   npx tsx examples/grad-attribution.ts [--model toy-ioi] [--n 40] [--seed 1]
import { ioi, stack, tensor, type HookedTransformer, type Tensor } from "../src/index.js";
import { fmt, intArg, isMain, layerHeadTable, loadModel, parseArgs } from "./common.js";

/** [n_layers, n_heads] per-head sums of x [batch, pos, head, d_head] (over the batch too: the metric's mean over
 *  prompts is already in its gradient). */
function perHead(model: HookedTransformer, x: (l: number) => Tensor): Tensor {
  return stack(Array.from({ length: model.cfg.nLayers }, (_, l) => x(l).sum([0, 1, 3])));
}

export async function main(): Promise<void> {
  const t0 = performance.now();
  const args = parseArgs();
  const model = await loadModel(args);
  const { dataset, cleanTokens, flippedTokens } = ioi.makeIoiData(model, {
    n: intArg(args, "n", 40),
    seed: intArg(args, "seed", 1),
  });
  const logitDiff = (logits: Tensor): Tensor => ioi.ioiLogitDiffs(dataset).perPrompt(logits).mean(); // [] differentiable
  const wanted = (name: string): boolean => name.endsWith("attn.hook_z") || name === "ln_final.hook_normalized";

  const [cleanLogits, clean] = await model.runWithCache(cleanTokens, { inclBwd: true, namesFilter: wanted });
  const metric = logitDiff(cleanLogits);
  await metric.backward(); // fills clean's `<hook>_grad` entries
  const [, corrupted] = await model.runWithCache(flippedTokens, { namesFilter: wanted });
  const z = (c: typeof clean, l: number): Tensor => c.get(`blocks.${l}.attn.hook_z`);
  const grad = (l: number): Tensor => clean.get(`blocks.${l}.attn.hook_z_grad`);
  console.log(`logit diff (clean): ${fmt(metric.item())}`);

  // the identity: the logit difference is linear in ln_final's output
  const { io, s, ends } = ioi.ioiLogitDiffs(dataset);
  const normalized = clean.get("ln_final.hook_normalized");
  const bias = model.b_U.get(io).sub(model.b_U.get(s)).mean().item();
  console.log(
    `Σ ln_final.hook_normalized · grad + b_U diff: ${fmt(normalized.mul(clean.get("ln_final.hook_normalized_grad")).sum().item() + bias)} (prompts' ends ${ends.positions.join(",")})`,
  );

  const estimate = perHead(model, (l) => z(corrupted, l).sub(z(clean, l)).mul(grad(l)));
  console.log(layerHeadTable(estimate, "AtP estimate: Δ logit diff from patching each head's z (XYZ → clean)"));
  // the estimate is the first-order term: a small step of the patch (finite differences) matches it, the whole
  // patch need not (attention saturates)
  const step = 0.01;
  const slope = (await patchedEffects(model, cleanTokens, clean, corrupted, logitDiff, metric.item(), step)).div(step);
  console.log(layerHeadTable(slope, `Finite differences: Δ logit diff / ${step} from patching ${step} of the way`));
  console.log(`correlation estimate vs finite differences: ${fmt(correlation(estimate, slope))}`);
  const actual = await patchedEffects(model, cleanTokens, clean, corrupted, logitDiff, metric.item(), 1);
  console.log(layerHeadTable(actual, "Activation patching: Δ logit diff (one run per head)"));
  console.log(`correlation estimate vs patching: ${fmt(correlation(estimate, actual))}`);
  console.log(
    layerHeadTable(
      perHead(model, (l) => z(clean, l).mul(grad(l))),
      "Saliency z · grad per head (clean run)",
    ),
  );
  console.error(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

type Cache = { get(name: string): Tensor };

/** [n_layers, n_heads]: the logit difference with one head's z moved `alpha` of the way from the clean run's to the
 *  corrupted run's (1: replaced), minus the clean one. */
async function patchedEffects(
  model: HookedTransformer,
  tokens: Tensor,
  cleanCache: Cache,
  corrupted: Cache,
  logitDiff: (logits: Tensor) => Tensor,
  clean: number,
  alpha: number,
): Promise<Tensor> {
  const rows: number[][] = [];
  for (let l = 0; l < model.cfg.nLayers; l++) {
    const row: number[] = [];
    for (let h = 0; h < model.cfg.nHeads; h++) {
      const name = `blocks.${l}.attn.hook_z`;
      const [from, to] = [cleanCache.get(name).get(":", ":", h), corrupted.get(name).get(":", ":", h)]; // [batch, pos, d_head]
      const patch = (act: Tensor): Tensor => {
        act.set([":", ":", h], from.add(to.sub(from).mul(alpha)));
        return act;
      };
      row.push(logitDiff(await model.runWithHooks(tokens, { fwdHooks: [[name, patch]] })).item() - clean);
    }
    rows.push(row);
  }
  return tensor(rows);
}

function correlation(a: Tensor, b: Tensor): number {
  const x = a.flatten().to("float64");
  const y = b.flatten().to("float64");
  const xc = x.sub(x.mean());
  const yc = y.sub(y.mean());
  return xc.mul(yc).sum().item() / Math.sqrt(xc.square().sum().item() * yc.square().sum().item());
}

if (isMain(import.meta.url)) await main();
