// `npm run bench -- load [--small|--medium] [--dir DIR]`: peak RSS while loading a generated random checkpoint (BF16
// shards, Llama layout, ~1.0B parameters; --medium ~0.21B, --small ~0.045B) with loadHfModelDir, against the float32 parameter bytes. The load
// runs in a fresh child process so the generator's memory does not count; the target is ≤ 1.2×.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { countParams, ONE_B, writeCheckpoint, type CheckpointShape } from "./load-checkpoint.js";

const SMALL: CheckpointShape = { dModel: 512, nLayers: 4, nHeads: 8, nKvHeads: 4, dMlp: 1408, dVocab: 32000 };
const MEDIUM: CheckpointShape = { dModel: 1024, nLayers: 12, nHeads: 16, nKvHeads: 8, dMlp: 2816, dVocab: 32000 };

/** Child mode: load `dir`, then print the RSS before and the peak during, in bytes. */
async function child(dir: string): Promise<void> {
  const { loadHfModelDir } = await import("../src/loading/index.js");
  const before = process.memoryUsage().rss;
  const t = performance.now();
  const { weights } = await loadHfModelDir(dir);
  const ms = performance.now() - t;
  let floats = 0;
  for (const w of weights.values()) floats += w.shape.reduce((a, b) => a * b, 1);
  console.log(JSON.stringify({ before, peak: process.resourceUsage().maxRSS * 1024, ms, floats }));
}

export async function main(args: string[]): Promise<void> {
  const childAt = args.indexOf("--child");
  if (childAt >= 0) return child(args[childAt + 1]!);
  const shape = args.includes("--small") ? SMALL : args.includes("--medium") ? MEDIUM : ONE_B;
  const dirAt = args.indexOf("--dir");
  const dir = dirAt >= 0 ? args[dirAt + 1]! : mkdtempSync(join(tmpdir(), "tlens-load-bench-"));
  const params = countParams(shape);
  console.log(`writing a random ${(params / 1e9).toFixed(3)}B-parameter BF16 checkpoint to ${dir}`);
  writeCheckpoint(dir, shape);
  try {
    const run = fileURLToPath(new URL("./run.ts", import.meta.url));
    const res = spawnSync(process.execPath, ["--import", "tsx", run, "load", "--child", dir], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    });
    if (res.status !== 0) throw new Error(`load failed: ${res.stderr}`);
    const got = JSON.parse(res.stdout.trim().split("\n").pop()!) as {
      before: number;
      peak: number;
      ms: number;
      floats: number;
    };
    const f32 = 4 * got.floats;
    const ratio = got.peak / f32;
    const aboveBaseline = (got.peak - got.before) / f32;
    console.log(
      `float32 parameters ${(f32 / 2 ** 30).toFixed(2)} GiB; peak RSS ${(got.peak / 2 ** 30).toFixed(2)} GiB ` +
        `(${ratio.toFixed(2)}×; ${aboveBaseline.toFixed(2)}× above the process's RSS before loading); load ${(got.ms / 1000).toFixed(1)} s`,
    );
    console.log(
      `RESULT ${JSON.stringify({ params, f32Bytes: f32, peakRss: got.peak, ratio, aboveBaseline, loadMs: got.ms })}`,
    );
  } finally {
    if (dirAt < 0) rmSync(dir, { recursive: true, force: true });
  }
}
