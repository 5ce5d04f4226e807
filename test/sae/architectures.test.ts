// Each architecture on a tiny SAE against values worked out by hand (fixtures.ts): sae_in = x − b_dec, pre = sae_in
// @ W_enc + b_enc, then the activation function, recons = acts @ W_dec + b_dec.
import { describe, expect, it } from "vitest";
import { tensor, type Tensor } from "../../src/index.js";
import { tinySae } from "./fixtures.js";

const rows = (t: Tensor): number[][] => t.toArray() as number[][];
const close = (t: Tensor, want: number[][]): void => {
  const got = rows(t);
  expect(got.length).toBe(want.length);
  got.forEach((r, i) => r.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 6)));
};
// x − b_dec = [1, 1], [0, 0], [1.5, 1]
const x = tensor([
  [1.5, 0.5],
  [0.5, -0.5],
  [2, 0.5],
]);

describe("standard (ReLU)", () => {
  it("encode, decode and the hook values", async () => {
    const sae = tinySae();
    const [out, cache] = await sae.runWithCache(x);
    close(cache.get("hook_sae_input"), rows(x));
    close(cache.get("hook_sae_acts_pre"), [
      [1, 1, 0.5],
      [0, -1, 0.5],
      [1.5, 1, 0],
    ]);
    close(cache.get("hook_sae_acts_post"), [
      [1, 1, 0.5],
      [0, 0, 0.5],
      [1.5, 1, 0],
    ]);
    close(cache.get("hook_sae_recons"), [
      [2, 1],
      [1, 0],
      [2, 0.5],
    ]);
    close(out, [
      [2, 1],
      [1, 0],
      [2, 0.5],
    ]);
    expect(cache.keys()).toEqual([
      "hook_sae_input",
      "hook_sae_acts_pre",
      "hook_sae_acts_post",
      "hook_sae_recons",
      "hook_sae_output",
    ]);
  });

  it("without applyBDecToInput the encoder sees x itself", async () => {
    const sae = tinySae({ applyBDecToInput: false });
    // x [1.5, 0.5] @ W_enc = [1.5, 1, -1], + b_enc = [1.5, 0, -0.5]
    close(await sae.encode(x.narrow(0, 0, 1)), [[1.5, 0, 0]]);
  });
});

describe("jumprelu", () => {
  it("keeps a feature only when pre > threshold (strictly)", async () => {
    const sae = tinySae({ architecture: "jumprelu" }, { threshold: tensor([0.5, 1.5, 0.5]) });
    // pre [1, 1, 0.5]: 1 > 0.5 kept, 1 ≤ 1.5 dropped, 0.5 = 0.5 dropped
    close(await sae.encode(x.narrow(0, 0, 1)), [[1, 0, 0]]);
    close(await sae.forward(x.narrow(0, 0, 1)), [[1.5, -0.5]]);
  });

  it("still applies ReLU under a negative threshold", async () => {
    const sae = tinySae({ architecture: "jumprelu" }, { threshold: tensor([-2, -2, -2]) });
    close(await sae.encode(x.narrow(0, 1, 1)), [[0, 0, 0.5]]);
  });
});

describe("topk", () => {
  it("keeps the k largest, ReLU on them: fewer than k when fewer are positive", async () => {
    const sae = tinySae({ architecture: "topk", k: 2 });
    const acts = await sae.encode(x);
    close(acts, [
      [1, 1, 0],
      [0, 0, 0.5],
      [1.5, 1, 0],
    ]);
    const k1 = await tinySae({ architecture: "topk", k: 1 }).encode(x.narrow(0, 2, 1));
    close(k1, [[1.5, 0, 0]]);
  });

  it("keeps exactly k on every row of a random input", async () => {
    const { randn, Generator } = await import("../../src/index.js");
    const sae = tinySae({ architecture: "topk", k: 2 }, { b_enc: tensor([10, 10, 10]) });
    const acts = await sae.encode(randn([50, 2], { generator: new Generator(3) }));
    expect([...acts.gt(0).sum(-1).dataSync()]).toEqual(new Array(50).fill(2));
  });

  it("rescaleActsByDecoderNorm scores by pre·‖W_dec[j]‖ and decode divides it back", async () => {
    const sae = tinySae({ architecture: "topk", k: 1, rescaleActsByDecoderNorm: true });
    // pre [0, -1, 0.5], norms [1, 1, √2]: feature 2 wins with 0.5·√2; decode: (0.5·√2 / √2)·[1, 1] + b_dec
    const [out, cache] = await sae.runWithCache(x.narrow(0, 1, 1));
    close(cache.get("hook_sae_acts_pre"), [[0, -1, 0.5]]);
    close(cache.get("hook_sae_acts_post"), [[0, 0, 0.5 * Math.SQRT2]]);
    close(out, [[1, 0]]);
  });
});

describe("gated", () => {
  const gated = () =>
    tinySae(
      { architecture: "gated" },
      {
        b_enc: undefined,
        b_gate: tensor([0, -1, 0.5]),
        r_mag: tensor([0, Math.log(2), 0]),
        b_mag: tensor([0, 0, -1]),
      },
    );
  it("gate (sae_in @ W_enc + b_gate > 0) times ReLU of the magnitude path; acts_pre is the magnitude", async () => {
    const [out, cache] = await gated().runWithCache(x.narrow(0, 0, 2));
    // sae_in [1, 1], [0, 0]: gates [1,1,1], [0 (0 is not > 0), 0, 1]; magnitudes [1, 4, -1], [0, 0, -1]
    close(cache.get("hook_sae_acts_pre"), [
      [1, 4, -1],
      [0, 0, -1],
    ]);
    close(cache.get("hook_sae_acts_post"), [
      [1, 4, 0],
      [0, 0, 0],
    ]);
    close(out, [
      [1.5, 3.5],
      [0.5, -0.5],
    ]);
  });
  it("has no b_enc", () => {
    expect(gated().b_enc).toBeUndefined();
    expect([...gated().stateDict().keys()]).toEqual(["W_enc", "b_gate", "r_mag", "b_mag", "W_dec", "b_dec"]);
  });
});
