// GEMM benchmark: the native sgemm (B packed per call, and B packed once and cached) against numpy's BLAS on the
// same shapes, measured in the same run, interleaved round by round (machine noise hits both alike).
//
//   npm run bench -- gemm [--rounds N] [--seconds S] [--no-numpy] [--shapes M,K,N;M,K,N...]
//
// Prints a table, then as the last line `RESULT {json}` with GFLOP/s per shape and ratio = tlens cold / numpy.
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import type { NativeGemmAddon } from "../src/backend/native.js";

interface Shape {
  m: number;
  k: number;
  n: number;
}

const DEFAULT_SHAPES: Shape[] = [
  { m: 2100, k: 768, n: 3072 },
  { m: 2100, k: 3072, n: 768 },
  { m: 2100, k: 768, n: 768 },
  { m: 2100, k: 768, n: 50257 },
];

// A small numpy server: reads "m k n reps" lines, answers with JSON timings (seconds) of np.matmul(a, b, out=c).
const NUMPY_SERVER = String.raw`
import sys, json, time, os
import numpy as np

def blas_info():
    out = {"numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info
        libs = [d for d in threadpool_info() if d.get("user_api") == "blas"]
        if libs:
            d = libs[0]
            out.update({"source": "threadpoolctl", "blas": d.get("internal_api"), "version": d.get("version"),
                        "kernel": d.get("architecture"), "threads": d.get("num_threads"), "library": d.get("filepath")})
            return out
    except Exception:
        pass
    out["source"] = "numpy.__config__"
    try:
        dep = np.__config__.CONFIG["Build Dependencies"]["blas"]
        out["blas"] = dep.get("name")
        out["version"] = dep.get("version")
        out["build"] = dep.get("openblas configuration")
    except Exception:
        pass
    # ask the loaded OpenBLAS for the kernel it picked at run time
    try:
        import ctypes
        paths = set()
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "blas" in os.path.basename(p).lower() and ".so" in p:
                    paths.add(p)
        for p in sorted(paths):
            lib = ctypes.CDLL(p)
            for prefix in ("scipy_openblas", "openblas"):
                for suffix in ("64_", ""):
                    for what, key in (("get_corename", "kernel"), ("get_config", "config")):
                        try:
                            fn = getattr(lib, prefix + "_" + what + suffix)
                        except AttributeError:
                            continue
                        fn.restype = ctypes.c_char_p
                        out[key] = fn().decode()
                    try:
                        fn = getattr(lib, prefix + "_get_num_threads" + suffix)
                        fn.restype = ctypes.c_int
                        out["threads"] = fn()
                    except AttributeError:
                        pass
            out["library"] = p
    except Exception as e:
        out["kernel_error"] = str(e)
    return out

print(json.dumps({"info": blas_info()}), flush=True)
rng = np.random.default_rng(0)
cur = None
for line in sys.stdin:
    m, k, n, reps = map(int, line.split())
    if cur is None or cur[0] != (m, k, n):
        cur = None
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        np.matmul(a, b, out=c)
        cur = ((m, k, n), a, b, c)
    _, a, b, c = cur
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - t)
    print(json.dumps({"times": times}), flush=True)
`;

class NumpyServer {
  private lines: string[] = [];
  private waiters: ((line: string) => void)[] = [];
  private proc;
  info: Record<string, unknown> = {};

  constructor(threads: number) {
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    env.OPENBLAS_NUM_THREADS = String(threads);
    env.OMP_NUM_THREADS = String(threads);
    env.MKL_NUM_THREADS = String(threads);
    this.proc = spawn("python3", ["-c", NUMPY_SERVER], { env, stdio: ["pipe", "pipe", "inherit"] });
    const rl = createInterface({ input: this.proc.stdout });
    rl.on("line", (line) => {
      const w = this.waiters.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    rl.on("close", () => {
      for (const w of this.waiters.splice(0)) w("");
    });
  }

  private next(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async start(): Promise<void> {
    const line = await this.next();
    if (!line) throw new Error("numpy server did not start");
    this.info = JSON.parse(line).info;
  }

  async time(s: Shape, reps: number): Promise<number[]> {
    this.proc.stdin.write(`${s.m} ${s.k} ${s.n} ${reps}\n`);
    const line = await this.next();
    if (!line) throw new Error("numpy server died");
    return JSON.parse(line).times;
  }

  close(): void {
    this.proc.stdin.end();
  }
}

function randomFill(x: Float32Array, seed: number): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    x[i] = s / 2147483648 - 1;
  }
}

function parseArgs(args: string[]) {
  const opt = { rounds: 4, seconds: 0.4, numpy: true, shapes: DEFAULT_SHAPES };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = () => (a.includes("=") ? a.slice(a.indexOf("=") + 1) : (args[++i] ?? ""));
    if (a.startsWith("--rounds")) opt.rounds = Math.max(1, Number(val()));
    else if (a.startsWith("--seconds")) opt.seconds = Number(val());
    else if (a === "--no-numpy") opt.numpy = false;
    else if (a.startsWith("--shapes")) {
      opt.shapes = val()
        .split(";")
        .map((t) => {
          const [m, k, n] = t.split(",").map(Number) as [number, number, number];
          return { m, k, n };
        });
    }
  }
  return opt;
}

const fmt = (x: number | null, w = 8, d = 1) => (x == null ? "-" : x.toFixed(d)).padStart(w);

export async function main(args: string[]): Promise<void> {
  const opt = parseArgs(args);
  const require = createRequire(import.meta.url);
  const native: NativeGemmAddon = require("../build/Release/tlens_native.node");
  const threads = native.numThreads();
  const info = native.sgemmInfo?.();
  console.log(`tlens sgemm: ${info ? `${info.kernel} (nr ${info.nr}, kc ${info.kc})` : "native"}, ${threads} threads`);

  let np: NumpyServer | null = null;
  if (opt.numpy) {
    const probe = spawnSync("python3", ["-c", "import numpy"], { stdio: "ignore" });
    if (probe.status !== 0) {
      console.log('note: `python3 -c "import numpy"` failed; skipping the numpy column');
    } else {
      np = new NumpyServer(threads);
      try {
        await np.start();
        const i = np.info;
        console.log(
          `numpy ${i.numpy}: BLAS ${i.blas ?? "?"} ${i.version ?? ""}, kernel ${i.kernel ?? "?"}, ` +
            `threads ${i.threads ?? threads} (via ${i.source}; OPENBLAS_NUM_THREADS=${threads}, ` +
            `OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset)`,
        );
        if (i.config) console.log(`  ${i.config}`);
      } catch (e) {
        console.log(`note: numpy failed to start (${(e as Error).message}); skipping the numpy column`);
        np = null;
      }
    }
  } else {
    console.log("note: --no-numpy; skipping the numpy column");
  }

  const rows: {
    m: number;
    k: number;
    n: number;
    tlens_gflops: number;
    tlens_cached_gflops: number;
    numpy_gflops: number | null;
    ratio: number | null;
  }[] = [];
  for (const s of opt.shapes) {
    const { m, k, n } = s;
    const flop = 2 * m * n * k;
    const a = new Float32Array(m * k);
    const b = new Float32Array(k * n);
    const out = new Float32Array(m * n);
    randomFill(a, 1);
    randomFill(b, 2);
    const zero = new Float64Array([0]);
    const cold = () => native.sgemm(1, m, n, k, a, zero, k, 1, b, zero, n, 1, out, null);
    let packed: ArrayBuffer | null = null;
    const cached = () => native.sgemm(1, m, n, k, a, zero, k, 1, b, zero, n, 1, out, packed);

    const timeIt = (fn: () => void, reps: number) => {
      const t: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        fn();
        t.push((performance.now() - t0) / 1000);
      }
      return t;
    };
    // warm up (allocates the packing buffers) and estimate the time of one call
    cold();
    const est = Math.min(...timeIt(cold, 2));
    packed = native.sgemmPackB(b, 0, n, 1, k, n);
    cached();
    const reps = Math.max(3, Math.min(30, Math.round(opt.seconds / est)));
    let tCold = Infinity,
      tCached = Infinity,
      tNp = Infinity;
    for (let r = 0; r < opt.rounds; r++) {
      tCold = Math.min(tCold, ...timeIt(cold, reps));
      tCached = Math.min(tCached, ...timeIt(cached, reps));
      if (np) tNp = Math.min(tNp, ...(await np.time(s, reps)));
    }
    const g = (t: number) => flop / t / 1e9;
    const npg = np ? g(tNp) : null;
    rows.push({
      m,
      k,
      n,
      tlens_gflops: +g(tCold).toFixed(1),
      tlens_cached_gflops: +g(tCached).toFixed(1),
      numpy_gflops: npg == null ? null : +npg.toFixed(1),
      ratio: npg == null ? null : +(g(tCold) / npg).toFixed(3),
    });
    packed = null;
  }
  np?.close();

  console.log("");
  console.log("      M      K      N | tlens cold | tlens cached |    numpy | cold/numpy   (GFLOP/s, best of runs)");
  for (const r of rows) {
    console.log(
      `${String(r.m).padStart(7)}${String(r.k).padStart(7)}${String(r.n).padStart(7)} |` +
        `${fmt(r.tlens_gflops, 11)} |${fmt(r.tlens_cached_gflops, 13)} |${fmt(r.numpy_gflops, 9)} |` +
        `${fmt(r.ratio, 11, 3)}`,
    );
  }
  const ratios = rows.map((r) => r.ratio).filter((x): x is number => x != null);
  const result = {
    bench: "gemm",
    threads,
    shapes: rows,
    ratio_min: ratios.length === rows.length && ratios.length > 0 ? Math.min(...ratios) : null,
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}
