// Child process of process.test.ts: runs matmul cases native vs js under the GEMM configuration given by the
// environment (TLENS_GEMM_ISA, TLENS_GEMM_KC, TLENS_GEMM_CW, TLENS_NUM_THREADS are read once, when the addon
// loads). Prints one JSON line { ok, cases, failures, isa } and exits 0 (the parent judges).
import { cases, cmpOp, desc, NATIVE_AVAILABLE, on, pick, randTensor, values, Tensor } from "./util.js";
import type { Tol } from "./util.js";

function mmTol(a: Tensor, b: Tensor, k: number): Tol {
  const absProd = on("js", () => a.to("float64").abs().matmul(b.to("float64").abs()));
  return { rtol: 0, atol: 1e-30, scale: values(absProd), scaleTol: 2e-6 * Math.sqrt(Math.max(k, 1)) };
}

const failures: string[] = [];
let count = 0;
const SIZES = [1, 2, 3, 5, 6, 7, 8, 13, 14, 15, 16, 17, 31, 32, 33, 47, 65];
try {
  cases("gemm child", 30, (g, i) => {
    const big = i % 6 === 0;
    const [m, k, n] = big
      ? [g.int(60, 160), g.int(200, 420), g.int(60, 200)]
      : [pick(g, SIZES), pick(g, SIZES), pick(g, SIZES)];
    const batch = g.uniform() < 0.3 ? [g.int(1, 4)] : [];
    const a =
      g.uniform() < 0.4 ? randTensor(g, [...batch, k, m], "float32").mT : randTensor(g, [...batch, m, k], "float32");
    const b = g.uniform() < 0.4 ? randTensor(g, [n, k], "float32").mT : randTensor(g, [k, n], "float32");
    if (g.uniform() < 0.5) b.storage.reusable = true;
    count++;
    cmpOp(`matmul(${desc(a, b)})`, [a, b], (x, y) => x.matmul(y), mmTol(a, b, k));
    if (b.storage.reusable) {
      b.set([0], 1.5);
      cmpOp(`matmul after set (${desc(a, b)})`, [a, b], (x, y) => x.matmul(y), mmTol(a, b, k));
    }
  });
} catch (e) {
  failures.push((e as Error).message);
}
console.log(
  JSON.stringify({ ok: failures.length === 0 && NATIVE_AVAILABLE, native: NATIVE_AVAILABLE, cases: count, failures }),
);
