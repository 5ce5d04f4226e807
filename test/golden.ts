// Shared access to TransformerLens's golden outputs (../shared/golden/tl) for the parity tests.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { Tensor } from "../src/index.js";
import { readSafetensorsFile } from "../src/loading/safetensors-file.js";

export const GOLDEN_DIR = fileURLToPath(new URL("../../shared/golden/tl", import.meta.url));

/** fromPretrained flags of each golden case (TL's load_and_process_state_dict flags). */
export const GOLDEN_CASES = {
  raw: { foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false },
  fold_ln: { foldLn: true, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false },
  processed: {},
  processed_refactor: { refactorFactoredAttnMatrices: true },
} as const;
export type GoldenCase = keyof typeof GOLDEN_CASES;
export const GOLDEN_CASE_NAMES = Object.keys(GOLDEN_CASES) as GoldenCase[];

export const goldenCommon = JSON.parse(readFileSync(`${GOLDEN_DIR}/common.json`, "utf8")) as {
  answer_tokens: number[];
  wrong_tokens: number[];
  get_act_name: { args: [string, number | null, string | null]; result: string }[];
};

/** inputs.safetensors: tokens, detect_tokens, clean_tokens, corrupted_tokens */
export const goldenInputs: Promise<Map<string, Tensor>> = readSafetensorsFile(`${GOLDEN_DIR}/inputs.safetensors`).then(
  (r) => r.tensors,
);

export async function goldenOutputs(name: GoldenCase): Promise<Map<string, Tensor>> {
  return (await readSafetensorsFile(`${GOLDEN_DIR}/${name}/outputs.safetensors`)).tensors;
}

/** max |a - b| over entries; equal values (infinities included) count 0, NaN fails. Shapes must match. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.contiguous().dataSync();
  const y = b.contiguous().dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

/** Asserts max |a - b| ≤ tol (times the golden's scale, max(1, max|b|), when `relative`). */
export function expectClose(name: string, a: Tensor | undefined, b: Tensor, tol = 1e-4, relative = false): void {
  expect(a, `${name} is missing`).toBeDefined();
  const scale = relative ? Math.max(1, b.abs().max().item()) : 1;
  const d = maxAbsDiff(a!, b);
  expect(d, `${name}: max abs diff ${d}${relative ? ` (scale ${scale})` : ""}`).toBeLessThanOrEqual(tol * scale);
}
