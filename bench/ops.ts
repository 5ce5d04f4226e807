// `npm run bench -- ops [thresholds]`: the native fused kernels against the JS backend in the same run.
// GPT-2-small shapes at 100×21 tokens: gelu_new over the MLP hidden [2100, 3072], softmax over attention rows
// [100·12·21, 21] (plain and causal), layer norm over [2100, 768]; plus a few elementwise/reduction/copy shapes and,
// for scale, a plain copy of the same bytes (what "memory bound" means here). Best of N after warm-up.
// `thresholds` also times tiny inputs to show where the N-API call stops paying (NATIVE_MIN in native.ts).
// The native kernels are also timed on one thread, in a child process (TLENS_NUM_THREADS=1): on a machine shared
// with other busy processes that figure is the stable one (a pool thread that is not scheduled stalls a call).
import { spawnSync } from "node:child_process";
import { JsBackend } from "../src/backend/js.js";
import { loadNativeAddon, NativeBackend } from "../src/backend/native.js";
import type { Backend, View } from "../src/backend/types.js";

function rand(n: number, scale = 3): Float32Array {
  const a = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return a;
}

function contig(data: Float32Array, shape: readonly number[]): View<Float32Array> {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return { data, offset: 0, shape, strides };
}

/** best wall time in ms over at least `reps` runs (and at least `minMs` of runs, at most 1000 runs) after `warm`
 *  warm-up runs: on a shared machine the best run is the one the other processes left alone */
function best(fn: () => void, reps: number, warm = 2, minMs = 300): number {
  for (let i = 0; i < warm; i++) fn();
  let b = Infinity;
  const start = performance.now();
  for (let i = 0; i < 1000 && (i < reps || performance.now() - start < minMs); i++) {
    const t0 = performance.now();
    fn();
    const t = performance.now() - t0;
    if (t < b) b = t;
  }
  return b;
}

/** best per-call time in µs of a tiny op, calls batched to beat the timer resolution */
function perCallUs(fn: () => void): number {
  const calls = 2000;
  return (
    (best(
      () => {
        for (let i = 0; i < calls; i++) fn();
      },
      7,
      3,
      0,
    ) *
      1000) /
    calls
  );
}

interface Row {
  name: string;
  nativeMs: number;
  jsMs: number;
  bytes: number;
}

export async function main(args: string[]): Promise<void> {
  const addon = loadNativeAddon();
  if (!addon) {
    console.log("native addon not built (node scripts/build-native.mjs); nothing to compare");
    console.log(`RESULT ${JSON.stringify({ bench: "ops", native: false })}`);
    return;
  }
  const nb = new NativeBackend(addon);
  const js: Backend = new JsBackend();
  console.log(`native ops: isa ${nb.isa}, ${addon.numThreads()} threads`);
  const child = args.includes("--child");
  const rows: Row[] = [];
  const run = (name: string, bytes: number, f: (b: Backend) => void, reps = 15, jsReps = 3): Row => {
    const r = { name, nativeMs: best(() => f(nb), reps), jsMs: child ? NaN : best(() => f(js), jsReps, 1, 0), bytes };
    rows.push(r);
    return r;
  };

  // gelu_new over the MLP hidden activations
  const H = 2100 * 3072;
  const hx = rand(H, 4);
  const hy = new Float32Array(H);
  const hv = contig(hx, [2100, 3072]);
  const gelu = run("gelu_new [2100,3072]", 8 * H, (b) => b.unary("gelu_new", hv, hy));
  run("gelu (erf) [2100,3072]", 8 * H, (b) => b.unary("gelu", hv, hy));
  run("exp [2100,3072]", 8 * H, (b) => b.unary("exp", hv, hy));

  // attention softmax: 100 prompts × 12 heads × 21 queries, 21 keys
  const SR = 25200;
  const SC = 21;
  const sx = rand(SR * SC, 5);
  const sy = new Float32Array(SR * SC);
  const soft = run("softmax [25200,21]", 8 * SR * SC, (b) => b.softmax(sx, SR, SC, sy), 30, 5);
  const softCausal = run(
    "softmax causal [25200,21]",
    8 * SR * SC,
    (b) => b.softmax(sx, SR, SC, sy, { causal: { qLen: 21, kOffset: 0 } }),
    30,
    5,
  );
  const V = 50257;
  const lx = rand(21 * V, 8);
  const ly = new Float32Array(21 * V);
  run("log_softmax [21,50257]", 8 * 21 * V, (b) => b.softmax(lx, 21, V, ly, { log: true }), 15, 3);

  // layer norm over the residual stream
  const LR = 2100;
  const LD = 768;
  const nx = rand(LR * LD, 2);
  const ny = new Float32Array(LR * LD);
  const w = rand(LD, 1);
  const bias = rand(LD, 1);
  const scale = new Float32Array(LR);
  const ln = run(
    "layernorm [2100,768] w,b,scale",
    8 * LR * LD,
    (b) => b.layerNorm(nx, LR, LD, 1e-5, w, bias, ny, scale),
    30,
    5,
  );

  // elementwise / reductions / copies on the residual stream shape
  const rv = contig(nx, [LR, LD]);
  const rowv: View<Float32Array> = { data: w, offset: 0, shape: [LR, LD], strides: [0, 1] };
  run("add [2100,768]+[768]", 8 * LR * LD, (b) => b.binary("add", rv, rowv, ny));
  run("mul [2100,768]*[2100,768]", 12 * LR * LD, (b) => b.binary("mul", rv, contig(ny, [LR, LD]), ny));
  const red = new Float32Array(LR);
  run("sum over last dim [2100,768]", 4 * LR * LD, (b) => b.reduce("sum", rv, 1, red));
  const colRed = new Float32Array(LD);
  run("sum over dim 0 [2100,768]", 4 * LR * LD, (b) =>
    b.reduce("sum", { ...rv, shape: [LD, LR], strides: [1, LD] }, 1, colRed),
  );
  const am = new Int32Array(21);
  run("argmax [21,50257]", 4 * 21 * V, (b) => b.reduce("argmax", contig(lx, [21, V]), 1, am));
  // [batch, pos, head, d_head] -> [batch, head, pos, d_head]
  const qv: View<Float32Array> = { data: hx, offset: 0, shape: [100, 12, 21, 64], strides: [21 * 768, 64, 768, 1] };
  const qo = new Float32Array(100 * 12 * 21 * 64);
  run("copy permute [100,21,12,64]->[100,12,21,64]", 8 * qo.length, (b) => b.copy(qv, contig(qo, qv.shape)));
  const tv: View<Float32Array> = { data: nx, offset: 0, shape: [LD, LR], strides: [1, LD] };
  run("copy transpose [2100,768]^T", 8 * LR * LD, (b) => b.copy(tv, contig(ny, [LD, LR])));
  const memcpyMs = best(() => hy.set(hx), 15);

  if (child) {
    console.log(`RESULT ${JSON.stringify(Object.fromEntries(rows.map((r) => [r.name, +r.nativeMs.toFixed(3)])))}`);
    return;
  }
  // the same kernels on one thread, in a child process
  let single: Record<string, number> = {};
  if (addon.numThreads() > 1) {
    const res = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, "ops", "--child"], {
      env: { ...process.env, TLENS_NUM_THREADS: "1" },
      encoding: "utf8",
      timeout: 300_000,
    });
    const line = (res.stdout ?? "").split("\n").find((l) => l.startsWith("RESULT "));
    if (line) single = JSON.parse(line.slice(7)) as Record<string, number>;
  }
  const t = addon.numThreads();
  console.log("");
  console.log(
    "op".padEnd(44) +
      `native ms (${t}T)`.padStart(16) +
      "1T ms".padStart(9) +
      "js ms".padStart(10) +
      "js/native".padStart(11) +
      "GB/s".padStart(8),
  );
  for (const r of rows) {
    const one = single[r.name];
    console.log(
      r.name.padEnd(44) +
        r.nativeMs.toFixed(3).padStart(16) +
        (one === undefined ? "-" : one.toFixed(3)).padStart(9) +
        r.jsMs.toFixed(2).padStart(10) +
        (r.jsMs / r.nativeMs).toFixed(1).padStart(10) +
        "×" +
        (r.bytes / r.nativeMs / 1e6).toFixed(1).padStart(8),
    );
  }
  console.log(
    `(memory reference: TypedArray.set of ${((4 * H) / 1e6).toFixed(1)} MB: ${memcpyMs.toFixed(3)} ms = ` +
      `${((8 * H) / memcpyMs / 1e6).toFixed(1)} GB/s read+write)`,
  );

  if (args.includes("thresholds")) {
    console.log("\nper-call µs for tiny inputs (native incl. N-API vs js):");
    console.log(
      "n".padStart(8) +
        "   " +
        ["neg", "exp", "gelu_new", "add", "copy", "sum", "softmax", "layerNorm"].map((s) => s.padStart(16)).join(""),
    );
    for (const n of [8, 32, 128, 512, 2048, 8192]) {
      const x = rand(n);
      const y = new Float32Array(n);
      const v = contig(x, [n]);
      const tv2: View<Float32Array> = { data: x, offset: 0, shape: [n >> 3, 8], strides: [1, n >> 3] };
      const cells: string[] = [];
      const force = (f: (b: Backend) => void): string => {
        // call the addon directly so that NATIVE_MIN does not route small sizes to JS
        return `${perCallUs(() => f(nbRaw)).toFixed(2)}/${perCallUs(() => f(js)).toFixed(2)}`;
      };
      const nbRaw: Backend = {
        name: "native",
        unary: (op, xv, out) =>
          addon.unaryF32(
            { neg: 0, exp: 1, gelu_new: 10 }[op as "neg"] ?? 0,
            xv.data as Float32Array,
            out as Float32Array,
            new Float64Array([xv.offset, 1, n, 1]),
          ),
        binary: (_op, a, b2, out) =>
          addon.binaryF32(
            0,
            a.data as Float32Array,
            b2.data as Float32Array,
            out as Float32Array,
            new Float64Array([0, 0, 1, n, 1, 1]),
          ),
        copy: (s, d) =>
          addon.copyF32(
            s.data as Float32Array,
            d.data as Float32Array,
            new Float64Array([0, 0, 2, n >> 3, 8, 1, n >> 3, 8, 1]),
          ),
        reduce: (_op, xv, _nr, out) =>
          addon.reduceF32(0, xv.data as Float32Array, out as Float32Array, 1, new Float64Array([0, 1, n, 1])),
        gemm: () => undefined,
        softmax: (xx, r, c, out) => addon.softmaxF32(xx as Float32Array, r, c, out as Float32Array, false, 0, 0),
        softmaxBackward: () => undefined,
        geluNewBackward: () => undefined,
        layerNorm: (xx, r, d, eps, ww, bb, out, sc) => addon.layerNormF32(xx, r, d, eps, ww, bb, out, sc),
      };
      const s1 = new Float32Array(1);
      cells.push(force((b) => b.unary("neg", v, y)));
      cells.push(force((b) => b.unary("exp", v, y)));
      cells.push(force((b) => b.unary("gelu_new", v, y)));
      cells.push(force((b) => b.binary("add", v, v, y)));
      cells.push(force((b) => b.copy(tv2, contig(y, [n >> 3, 8]))));
      cells.push(force((b) => b.reduce("sum", v, 1, s1)));
      cells.push(force((b) => b.softmax(x, n >> 3, 8, y)));
      cells.push(force((b) => b.layerNorm(x, n >> 3, 8, 1e-5, null, null, y, null)));
      console.log(String(n).padStart(8) + "   " + cells.map((c) => c.padStart(16)).join(""));
    }
  }

  const result = {
    bench: "ops",
    isa: nb.isa,
    threads: addon.numThreads(),
    gelu_new_ms: +gelu.nativeMs.toFixed(3),
    softmax_ms: +soft.nativeMs.toFixed(3),
    softmax_causal_ms: +softCausal.nativeMs.toFixed(3),
    layernorm_ms: +ln.nativeMs.toFixed(3),
    gelu_new_1t_ms: single[gelu.name],
    softmax_1t_ms: single[soft.name],
    softmax_causal_1t_ms: single[softCausal.name],
    layernorm_1t_ms: single[ln.name],
    gelu_new_vs_js: +(gelu.jsMs / gelu.nativeMs).toFixed(1),
    softmax_vs_js: +(soft.jsMs / soft.nativeMs).toFixed(1),
    softmax_causal_vs_js: +(softCausal.jsMs / softCausal.nativeMs).toFixed(1),
    layernorm_vs_js: +(ln.jsMs / ln.nativeMs).toFixed(1),
    memcpy_gbps: +((8 * H) / memcpyMs / 1e6).toFixed(1),
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}
