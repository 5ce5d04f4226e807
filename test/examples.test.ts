// Runs each seed-notebook example (examples/*.ts) as a subprocess with small sizes on toy-ioi, and checks invariants
// of what it prints: the script exits 0, its numbers add up where theory says they must, and a second run prints
// the same numbers (timings go to stderr, which is not compared).
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

async function example(name: string, args: string[] = []): Promise<string> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", `examples/${name}.ts`, ...args], {
    cwd: root,
    maxBuffer: 64 << 20,
    env: { ...process.env, TLENS_NUM_THREADS: process.env.TLENS_NUM_THREADS ?? "2" },
  });
  return stdout;
}

const num = (s: string, re: RegExp): number => {
  const m = re.exec(s);
  if (!m) throw new Error(`no match for ${re} in the output`);
  return Number(m[1]);
};
const NUM = "(-?\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?)";

describe("examples", () => {
  // the heaviest script runs once (determinism is checked on the others, which share its code paths for datasets)
  it("ioi-circuit: the pipeline's numbers (= tlens ioi's results.json); DLA adds up to the logit diff; the hook reproduces F(C)", async () => {
    const args = ["--n", "16", "--seed", "1"];
    const a = await example("ioi-circuit", args);
    const clean = num(a, new RegExp(`Average logit diff \\(IOI dataset\\): ${NUM}`));
    const m = new RegExp(`Σ heads ${NUM} \\+ rest ${NUM} \\+ b_U ${NUM} = ${NUM} \\(logit diff ${NUM}\\)`).exec(a)!;
    const [heads, rest, bU, sum, ld] = m.slice(1).map(Number) as [number, number, number, number, number];
    expect(Math.abs(heads + rest + bU - sum)).toBeLessThan(2e-4);
    expect(Math.abs(sum - ld)).toBeLessThan(1e-3);
    expect(ld).toBeCloseTo(clean, 3);
    expect(num(a, new RegExp(`\\ntotal\\s+${NUM}`))).toBeCloseTo(clean, 3);
    // the lens's last stream is the model's own output
    expect(num(a, new RegExp(`final_post\\s+${NUM}`))).toBeCloseTo(clean, 3);
    const fc = num(a, new RegExp(`only using circuit\\): ${NUM}`));
    expect(num(a, new RegExp(`mean-ablation hook: logit diff ${NUM}`))).toBeCloseTo(fc, 3);
    expect(num(a, new RegExp(`using entire model\\): ${NUM}`))).toBeCloseTo(clean, 3);
    // toy-ioi's IO is the answer and the corruptions hurt
    expect(clean).toBeGreaterThan(3);
    expect(num(a, new RegExp(`names swapped .*?: ${NUM}`))).toBeLessThan(0);
    expect(a).toContain("Direct effect on logit diff (patch from head → final resid)");
    // the same pipeline as tlens ioi: its one-line summary has the example's logit differences
    const flipped = num(a, new RegExp(`XYZ-flipped dataset, the clean IO − S\\): ${NUM}`));
    const { stderr } = await run(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "ioi", ...args, "--out", await mkdtemp(join(tmpdir(), "tlens-ex-"))],
      { cwd: root },
    );
    expect(num(stderr, new RegExp(`logit diff clean ${NUM}`))).toBeCloseTo(clean, 3);
    expect(num(stderr, new RegExp(`flipped ${NUM}\\)`))).toBeCloseTo(flipped, 3);
  }, 120_000);

  it("copy-suppression: every decomposition adds up to the cached score; the four-way split adds up to the total", async () => {
    const args = ["--batches", "2", "--n", "10", "--batch-size", "12"];
    const [a, b] = await Promise.all([example("copy-suppression", args), example("copy-suppression", args)]);
    expect(a).toBe(b);
    const rows = [...a.matchAll(new RegExp(`^(decompose_\\S+|split_qk_\\S+)\\s+${NUM}\\s+(\\S+)\\s+(\\S+)$`, "gm"))];
    expect(rows.length).toBe(11);
    for (const [, name, total, actual] of rows) {
      if (actual === "—") continue;
      expect(Number(total), name).toBeCloseTo(Number(actual), 3);
    }
    const sub = rows.find((r) => r[1] === "decompose_k_sub_S1")!;
    const q1 = new RegExp(`q ∥ W_U\\[IO\\]\\s+${NUM}\\s+${NUM}`).exec(a)!;
    const q2 = new RegExp(`q ⟂ W_U\\[IO\\]\\s+${NUM}\\s+${NUM}`).exec(a)!;
    const four = [q1[1], q1[2], q2[1], q2[2]].map(Number).reduce((x, y) => x + y, 0);
    expect(four).toBeCloseTo(Number(sub[2]), 3);
    // the normalised name-mover output splits into a unit vector's ∥ and ⟂ parts
    const par = num(a, new RegExp(`IO component norm: ${NUM}`));
    const perp = num(a, new RegExp(`IO perp component norm: ${NUM}`));
    expect(par ** 2 + perp ** 2).toBeLessThanOrEqual(1 + 1e-3);
    expect(par ** 2 + perp ** 2).toBeGreaterThan(0.9);
  }, 30_000);

  it("position-flip: prints the notebook's table per head, reproducibly", async () => {
    const args = ["--n", "30", "--heads", "2.2"];
    const [a, b] = await Promise.all([example("position-flip", args), example("position-flip", args)]);
    expect(a).toBe(b);
    expect(a).toContain("IOI patching, effect on 2.2 attn score diff");
    const clean = num(a, new RegExp(`Clean\\s+${NUM}`));
    const patched = num(a, new RegExp(`\\(patched\\)\\s+${NUM}`));
    expect(Number.isFinite(clean) && Number.isFinite(patched)).toBe(true);
    expect(clean).not.toBe(patched);
  }, 30_000);

  it("intro-and-steering: pattern from q·k = the cache; DLA sums to the logit diff; coeff 1 gives the positive prompt's logit diff", async () => {
    const a = await example("intro-and-steering", ["--gen-tokens", "3"]);
    expect(num(a, new RegExp(`max \\|diff\\| = ${NUM}`))).toBeLessThan(1e-5);
    const ld = num(a, new RegExp(`model's logit diff\\s+${NUM}`));
    expect(num(a, new RegExp(`\\nsum\\s+${NUM}`))).toBeCloseTo(ld, 3);
    const sweep = [...a.matchAll(new RegExp(`^(0|0\\.25|0\\.5|0\\.75|1)\\s+${NUM}\\s+${NUM}$`, "gm"))];
    expect(sweep.length).toBe(5);
    expect(Number(sweep[0]![3])).toBe(0); // KL at coeff 0
    // ActAdd at resid_pre with the whole prompt difference, coeff 1: the run becomes the positive prompt's
    expect(Number(sweep[4]![2])).toBeCloseTo(ld, 2);
    expect(a).toContain('to_string([50256, 70, 457, 17]): "<|endoftext|>gpt2"');
  }, 30_000);

  it("grad-attribution: the gradient cache obeys the unembedding identity; the AtP estimate is the finite-difference slope", async () => {
    const a = await example("grad-attribution", ["--n", "8"]);
    const ld = num(a, new RegExp(`logit diff \\(clean\\): ${NUM}`));
    expect(num(a, new RegExp(`Σ ln_final.hook_normalized · grad \\+ b_U diff: ${NUM}`))).toBeCloseTo(ld, 3);
    expect(num(a, new RegExp(`correlation estimate vs finite differences: ${NUM}`))).toBeGreaterThan(0.99);
    expect(a).toContain("Activation patching: Δ logit diff (one run per head)");
  }, 120_000);
});
