// Node attribution on the golden 3-layer model equals TransformerLens's (clean − corrupted) · grad products in
// ../shared/golden/tl-grad (attr/corrupted_grad = denoise, attr/clean_grad = noise), within grads.json's
// suggested_atol, and its Pearson r with TL's own activation patching (patch/*) is the README's.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { attribution, HookedTransformer, type Tensor } from "../../src/index.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { GOLDEN_DIR } from "../golden.js";

const GRAD_DIR = fileURLToPath(new URL("../../../shared/golden/tl-grad", import.meta.url));
const meta = JSON.parse(readFileSync(`${GRAD_DIR}/grads.json`, "utf8")) as {
  tensors: Record<string, { suggested_atol: number }>;
  correlations_f32: Record<string, { clean_grad_vs_noise: number; corrupted_grad_vs_denoise: number }>;
};

const metric = (logits: Tensor): Tensor => {
  const last = logits.get(":", -1);
  return last.get(":", 436).sub(last.get(":", 895)).sum();
};

const KINDS = {
  resid_pre: attribution.attrPatchResidPre,
  attn_out: attribution.attrPatchAttnOut,
  mlp_out: attribution.attrPatchMlpOut,
  head_out: attribution.attrPatchAttnHeadOutByPos,
} as const;

describe("node attribution = TransformerLens's on the golden 3-layer model", () => {
  let golden: Map<string, Tensor>;
  let model: HookedTransformer;
  beforeAll(async () => {
    golden = (await readSafetensorsFile(`${GRAD_DIR}/grads.safetensors`)).tensors;
    model = await HookedTransformer.fromPretrained(GOLDEN_DIR, {});
  });

  for (const convention of ["denoise", "noise"] as const) {
    for (const [kind, fn] of Object.entries(KINDS)) {
      it(`${kind}, ${convention}`, async () => {
        const got = await fn(model, {
          clean: golden.get("tokens/clean")!,
          corrupted: golden.get("tokens/corrupted")!,
          metric,
          convention,
        });
        const key = `attr/${convention === "denoise" ? "corrupted_grad" : "clean_grad"}/${kind}`;
        const want = golden.get(key)!;
        expect(got.shape).toEqual(want.shape);
        const diff = got.sub(want).abs().max().item();
        expect(diff, `${key}: max |Δ| ${diff}`).toBeLessThanOrEqual(meta.tensors[key]!.suggested_atol);
        // against TL's activation patching: the patched metric minus the base run's
        const base = golden.get(`metric/${convention === "denoise" ? "corrupted" : "clean"}`)!.item();
        const truth = golden.get(`patch/${convention}/${kind}`)!.sub(base);
        const r = attribution.pearson(Array.from(got.dataSync()), Array.from(truth.dataSync()));
        const rWant =
          meta.correlations_f32[kind]![convention === "denoise" ? "corrupted_grad_vs_denoise" : "clean_grad_vs_noise"];
        expect(r).toBeCloseTo(rWant, 3);
      });
    }
  }

  it("all four kinds from one attrPatchNodes call (one pass pair), denoise", async () => {
    const got = await attribution.attrPatchNodes(model, {
      clean: golden.get("tokens/clean")!,
      corrupted: golden.get("tokens/corrupted")!,
      metric,
      nodes: ["residPre", "attnOut", "mlpOut", "attnHeadOutByPos"],
    });
    const keys = {
      residPre: "resid_pre",
      attnOut: "attn_out",
      mlpOut: "mlp_out",
      attnHeadOutByPos: "head_out",
    } as const;
    for (const [k, g] of Object.entries(keys) as [keyof typeof keys, string][]) {
      const key = `attr/corrupted_grad/${g}`;
      expect(got[k].sub(golden.get(key)!).abs().max().item(), key).toBeLessThanOrEqual(
        meta.tensors[key]!.suggested_atol,
      );
    }
  });
});
