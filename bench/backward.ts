// `npm run bench -- backward [reps]`: forward + backward on the GPT-2-small-shaped random model (bench/random-model.ts)
// with batch 8 × 21 and full logits: runWithCache({ inclBwd: true }) caches every hook point's activation and
// gradient of the logit-difference metric Σ_b logits[b, -1, 436] − logits[b, -1, 895]. W_E and W_pos require grad
// (as in the PyTorch reference, bench/reference/torch_backward.py, run in the same process tree when torch is
// importable). Also the plain forward of the same batch, and the process's peak RSS.
import { backend, randint, type Tensor } from "../src/index.js";
import { medianMs, torchReference } from "./forward.js";
import { GPT2_SMALL_SHAPE, randomGpt2Small } from "./random-model.js";

const metricOf = (logits: Tensor): Tensor =>
  logits
    .get(":", -1, 436)
    .sub(logits.get(":", -1, 895))
    .sum();

export async function main(args: string[]): Promise<void> {
  const reps = Number(args[0] ?? 3);
  console.log(`backend: ${backend.getBackend().name}; building a random GPT-2-small-shaped model...`);
  const model = randomGpt2Small();
  model.requiresGrad_(true, (name) => name === "embed.W_E" || name === "pos_embed.W_pos");
  const tokens = randint(0, GPT2_SMALL_SHAPE.dVocab, [8, 21]);
  let cached = 0;
  const fwdBwdMs = await medianMs(reps, async () => {
    const [logits, cache] = await model.runWithCache(tokens, { inclBwd: true });
    await metricOf(logits).backward();
    model.W_E.grad = null;
    model.W_pos.grad = null;
    cached = cache.keys().filter((k) => k.endsWith("_grad")).length;
  });
  model.requiresGrad_(false);
  const forwardMs = await medianMs(reps, () => model.forward(tokens));
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const torch = torchReference(reps, "torch_backward.py");
  const torchMs = torch ? Number(torch.fwd_bwd_ms) : NaN;
  console.log(`gradients cached: ${cached} hook points`);
  console.log(
    `forward + backward: ${fwdBwdMs.toFixed(1)} ms (torch ${torch ? torchMs.toFixed(1) : "-"} ms); forward ${forwardMs.toFixed(1)} ms; peak RSS ${peakRssMb.toFixed(0)} MB`,
  );
  console.log(
    "RESULT " +
      JSON.stringify({
        bench: "backward",
        backend: backend.getBackend().name,
        batch: 8,
        pos: 21,
        fwd_bwd_ms: fwdBwdMs,
        torch_fwd_bwd_ms: torch ? torchMs : null,
        forward_ms: forwardMs,
        backward_over_forward: (fwdBwdMs - forwardMs) / forwardMs,
        ratio_vs_torch: torch ? fwdBwdMs / torchMs : null,
        grads_cached: cached,
        peak_rss_mb: peakRssMb,
        torch: torch ?? null,
      }),
  );
}
