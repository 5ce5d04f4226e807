// `npm run bench -- attribution [--small]`: attribution patching beside the exact activation-patching sweep of the
// same grid, in the same run, on the GPT-2-small-shaped random model (batch 8 × 21, logit difference at the last
// position): node attribution of resid_pre [12, 21] and head outputs by position [12, 21, 12] (AtP, one
// attrPatchNodes call: one clean forward and one corrupted forward + backward for both, logits at the
// last position only, as the sweep's metricPositions), EAP over all 32,491 edges, EAP-IG with 5 steps, and
// getActPatchResidPre + getActPatchAttnHeadOutByPos (the fast sweep). Times are also given in forward-equivalents:
// over one plain forward (full logits) of the same batch, measured in the same run (each the fastest of three).
// `--small`: a 2-layer, d_model 128 model of the same kind, for a quick check on a loaded machine.
import { arange, attribution, backend, noGrad, patching, randint, type Tensor } from "../src/index.js";
import { GPT2_SMALL_SHAPE, randomGpt2Small } from "./random-model.js";

const SMALL_SHAPE = { ...GPT2_SMALL_SHAPE, nLayers: 2, dModel: 128, nHeads: 4, dHead: 32, dMlp: 512 };

async function ms(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** The fastest of three runs (after one warm-up), for the short timings that are compared with each other. */
async function best(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  return Math.min(await ms(fn), await ms(fn), await ms(fn));
}

export async function main(args: string[]): Promise<void> {
  const small = args.includes("--small");
  console.log(
    `backend: ${backend.getBackend().name}; building a random ${small ? "small" : "GPT-2-small-shaped"} model...`,
  );
  const model = randomGpt2Small(small ? SMALL_SHAPE : GPT2_SMALL_SHAPE);
  const vocab = GPT2_SMALL_SHAPE.dVocab;
  const clean = randint(0, vocab, [8, 21]);
  const corrupted = clean.clone();
  corrupted.set([":", 5], randint(0, vocab, [8]));
  const rows = arange(0, 8, 1, "int32");
  const [right, wrong] = [randint(0, vocab, [8]), randint(0, vocab, [8])];
  // the logit difference at the last position, summed over the batch; the sweep gives it the last position only
  const metric = (logits: Tensor): Tensor => {
    const last = logits.get(":", -1); // [batch, d_vocab]
    return last.get(rows, right).sub(last.get(rows, wrong)).sum();
  };
  const o = { clean, corrupted, metric, progressBar: false };
  const forwardMs = await best(() => model.forward(corrupted));
  const nodes = ["residPre", "attnHeadOutByPos"] as const;
  const atpMs = await best(() => attribution.attrPatchNodes(model, { ...o, nodes, logitPositions: "last" }));
  // its two passes alone: the clean run's activations (no gradients, stopping after the last block), the corrupted
  // run's forward + backward with the activations and gradients at the same 24 hooks
  const hooks = [...Array(model.cfg.nLayers).keys()].flatMap((l) => [
    `blocks.${l}.hook_resid_pre`,
    `blocks.${l}.attn.hook_z`,
  ]);
  const otherMs = await best(() =>
    noGrad(() =>
      model.runWithCache(clean, { namesFilter: (n: string) => hooks.includes(n), stopAtLayer: model.cfg.nLayers }),
    ),
  );
  const gradRunMs = await best(() => attribution.gradRun(model, corrupted, metric, hooks, { logitPositions: "last" }));
  let edges = 0;
  await attribution.attributeEdges(model, o); // warm-up (EAP-IG then runs the same code, warm)
  const eapMs = await ms(async () => {
    edges = (await attribution.attributeEdges(model, o)).edges.length;
  });
  const eapIg5Ms = await ms(() => attribution.attributeEdges(model, { ...o, method: "eap-ig", steps: 5 }));
  const [, cleanCache] = await model.runWithCache(clean);
  const sweepOpts = { metricPositions: "last" as const, progressBar: false };
  const exactMs = await ms(async () => {
    await patching.getActPatchResidPre(model, corrupted, cleanCache, metric, sweepOpts);
    await patching.getActPatchAttnHeadOutByPos(model, corrupted, cleanCache, metric, sweepOpts);
  });
  console.log(`forward (8×21): ${forwardMs.toFixed(0)} ms; ${edges} edges`);
  console.log(
    `node attribution (resid_pre + head_out by pos): ${atpMs.toFixed(0)} ms = ${(atpMs / forwardMs).toFixed(1)} forwards; ` +
      `exact sweep of the same grid: ${exactMs.toFixed(0)} ms (${(exactMs / atpMs).toFixed(1)}x)`,
  );
  console.log(
    `  of which: clean forward (activations) ${otherMs.toFixed(0)} ms = ${(otherMs / forwardMs).toFixed(2)} forwards, ` +
      `corrupted forward + backward ${gradRunMs.toFixed(0)} ms = ${(gradRunMs / forwardMs).toFixed(2)} forwards`,
  );
  console.log(
    `EAP: ${eapMs.toFixed(0)} ms = ${(eapMs / forwardMs).toFixed(1)} forwards; EAP-IG (5 steps): ${eapIg5Ms.toFixed(0)} ms (${(eapIg5Ms / eapMs).toFixed(1)}x EAP)`,
  );
  console.log(
    "RESULT " +
      JSON.stringify({
        bench: "attribution",
        backend: backend.getBackend().name,
        model: small ? "small" : "gpt2-small-shaped",
        edges,
        forward_ms: forwardMs,
        atp_ms: atpMs,
        atp_other_forward_ms: otherMs,
        atp_grad_run_ms: gradRunMs,
        eap_ms: eapMs,
        eap_ig5_ms: eapIg5Ms,
        exact_sweep_ms: exactMs,
        atp_forward_equivalents: atpMs / forwardMs,
        exact_over_atp: exactMs / atpMs,
        eap_ig5_over_eap: eapIg5Ms / eapMs,
      }),
  );
}
