// attrPatchNodes: several node kinds from one forward of the other run and one forward + backward of the base run.
// Each kind equals (other − base act) · grad computed independently (runWithCache with inclBwd), whichever kinds
// share the passes; the passes are counted; logitPositions gives the same numbers; bad kinds are refused.
import { beforeAll, describe, expect, it } from "vitest";
import { attribution, HookedTransformer, type Tensor } from "../../src/index.js";
import { clean, corrupted, metric, SMALL_CFG } from "./fixture.js";

const ALL = attribution.ATTR_PATCH_KINDS;

/** Σ (other − base) · ∂metric/∂act at the base run, by hand: [n_layers, ...] before the kind's reduction. */
async function products(model: HookedTransformer, act: string, convention: "denoise" | "noise"): Promise<Tensor[]> {
  const [base, other] = convention === "denoise" ? [corrupted, clean] : [clean, corrupted];
  const [, otherCache] = await model.runWithCache(other);
  const [logits, baseCache] = await model.runWithCache(base, { inclBwd: true });
  await metric(logits).backward();
  return [...Array(model.cfg.nLayers).keys()].map((l) => {
    const name = `blocks.${l}.${act}`;
    return otherCache
      .get(name)
      .sub(baseCache.get(name))
      .mul(baseCache.get(`${name}_grad`));
  });
}

describe("attrPatchNodes", () => {
  let model: HookedTransformer;
  beforeAll(() => {
    model = HookedTransformer.fromConfig({ ...SMALL_CFG, seed: 5 });
  });

  for (const convention of ["denoise", "noise"] as const) {
    it(`every kind at once equals the by-hand products, ${convention}`, async () => {
      const got = await attribution.attrPatchNodes(model, { clean, corrupted, metric, convention, nodes: ALL });
      expect(Object.keys(got).sort()).toEqual([...ALL].sort());
      const resid = await products(model, "hook_resid_pre", convention); // [batch, pos, d_model] per layer
      const z = await products(model, "attn.hook_z", convention); //        [batch, pos, head, d_head]
      const pattern = await products(model, "attn.hook_pattern", convention); // [batch, head, dest, src]
      const post = await products(model, "mlp.hook_post", convention); //  [batch, pos, d_mlp]
      const close = (a: Tensor, rows: Tensor[], what: string): void => {
        expect(a.shape).toEqual([rows.length, ...rows[0]!.shape]);
        rows.forEach((r, l) =>
          expect(a.get(l).sub(r).abs().max().item(), `${what} layer ${l}`).toBeLessThanOrEqual(1e-5),
        );
      };
      close(
        got.residPre,
        resid.map((p) => p.sum([0, 2])),
        "residPre",
      );
      close(
        got.attnHeadOutByPos,
        z.map((p) => p.sum([0, 3])),
        "attnHeadOutByPos",
      );
      close(
        got.attnHeadOutAllPos,
        z.map((p) => p.sum([0, 1, 3])),
        "attnHeadOutAllPos",
      );
      close(
        got.attnHeadPatternByPos,
        pattern.map((p) => p.sum([0, 3])),
        "attnHeadPatternByPos",
      );
      close(
        got.mlpNeuronsAllPos,
        post.map((p) => p.sum([0, 1])),
        "mlpNeuronsAllPos",
      );
      expect(got.residPre.abs().max().item(), "the estimate is not trivially zero").toBeGreaterThan(1e-3);
    });
  }

  it("a kind's result does not depend on the kinds beside it (qkFix and gradDrop too)", async () => {
    for (const extra of [{}, { qkFix: true }, { gradDrop: true }]) {
      const o = { clean, corrupted, metric, ...extra };
      const both = await attribution.attrPatchNodes(model, {
        ...o,
        nodes: ["attnHeadQByPos", "residMid", "attnHeadKAllPos"],
      });
      const q = await attribution.attrPatchAttnHeadQByPos(model, o);
      const k = await attribution.attrPatchAttnHeadKAllPos(model, o);
      const mid = await attribution.attrPatchResidMid(model, o);
      expect(both.attnHeadQByPos.sub(q).abs().max().item(), JSON.stringify(extra)).toBeLessThanOrEqual(1e-6);
      expect(both.attnHeadKAllPos.sub(k).abs().max().item(), JSON.stringify(extra)).toBeLessThanOrEqual(1e-6);
      expect(both.residMid.sub(mid).abs().max().item(), JSON.stringify(extra)).toBeLessThanOrEqual(1e-6);
    }
  });

  it("runs one forward of the other run and one forward + backward of the base run for all kinds", async () => {
    let forwards = 0;
    model.addHook("hook_embed", () => {
      forwards++;
    });
    const progress: [number, number][] = [];
    try {
      await attribution.attrPatchNodes(model, {
        clean,
        corrupted,
        metric,
        nodes: ["residPre", "attnHeadOutByPos", "mlpOut", "attnHeadPatternAllPos"],
        onProgress: (d, t) => progress.push([d, t]),
      });
    } finally {
      model.resetHooks();
    }
    expect(forwards).toBe(2);
    expect(progress.at(-1)).toEqual([2, 2]);
  });

  it("logitPositions 'last' gives the same estimate as full logits for a metric at the last position", async () => {
    const full = await attribution.attrPatchNodes(model, {
      clean,
      corrupted,
      metric,
      nodes: ["residPre", "attnHeadOutByPos"],
    });
    const last = await attribution.attrPatchNodes(model, {
      clean,
      corrupted,
      metric,
      logitPositions: "last",
      nodes: ["residPre", "attnHeadOutByPos"],
    });
    expect(last.residPre.sub(full.residPre).abs().max().item()).toBeLessThanOrEqual(1e-5);
    expect(last.attnHeadOutByPos.sub(full.attnHeadOutByPos).abs().max().item()).toBeLessThanOrEqual(1e-5);
  });

  it("refuses unknown and missing kinds", async () => {
    const o = { clean, corrupted, metric };
    await expect(
      attribution.attrPatchNodes(model, { ...o, nodes: ["residPre", "heads" as "residPre"] }),
    ).rejects.toThrow(/unknown node kind\(s\) "heads"; known: residPre/);
    await expect(attribution.attrPatchNodes(model, { ...o, nodes: [] })).rejects.toThrow(attribution.AttributionError);
  });
});
