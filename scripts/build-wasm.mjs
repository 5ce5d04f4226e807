// `npm run build:wasm`: the wasm backend's kernels, from the same C sources as the native addon (the GEMM core
// gemm_*.c without the x86 micro-kernels; the strided op drivers ops_*.c over ops_generic.c + ops_kern.h) plus
// native/wasm/ (the entry points, a pthread stand-in, the thread pools, a thread-safe heap), into build/wasm/ (or
// --out DIR):
//   tlens.wasm     one thread (wasi-libc's malloc; the pool runs tasks in order)
//   tlens-mt.wasm  threads: imports a shared memory; helper workers run tl_worker_loop
// Not committed: they are rebuilt from the sources (the browser build does it), so they never lag behind the C.
// The build is deterministic: the same toolchain gives the same bytes (test/browser/build.test.ts checks it).
// Toolchain: Debian's clang, lld and wasi-libc (`--install` apt-gets them when missing; .ci/run installs them).
//
//   node scripts/build-wasm.mjs [--install] [--out DIR]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** The GEMM core without the x86 micro-kernels (wasm uses the portable one, vectorised with SIMD128). */
const GEMM = [
  "native/gemm_core.c",
  "native/gemm_matrix.c",
  "native/gemm_pack.c",
  "native/gemm_scratch.c",
  "native/gemm_config.c",
  "native/gemm_kern_generic.c",
];
/** The strided op drivers the N-API addon uses too, over the portable flat kernels. */
const OPS = [
  "native/ops_isa.c",
  "native/ops_dims.c",
  "native/ops_elementwise.c",
  "native/ops_reduce.c",
  "native/ops_rows.c",
  "native/ops_generic.c",
];
const KERNELS = ["native/wasm/tlens_wasm.c", ...GEMM, ...OPS];
const COMMON = [
  "--target=wasm32-wasi",
  "-O3",
  "-msimd128",
  "-std=gnu11",
  "-fno-math-errno",
  "-fno-trapping-math",
  "-mexec-model=reactor",
  "-Inative/wasm/include",
  "-Wall",
  "-Wno-unused-function",
  "-Wl,--strip-all",
  // 1 MiB main stack (wasm-ld's default is 64 KiB): the drivers keep views and gather blocks on the stack
  "-Wl,-z,stack-size=1048576",
];
/** Output file → its sources and flags. */
export const WASM_VARIANTS = {
  "tlens.wasm": { sources: [...KERNELS, "native/wasm/threadpool_wasm.c"], flags: COMMON },
  "tlens-mt.wasm": {
    sources: [...KERNELS, "native/wasm/threadpool_mt.c", "native/wasm/alloc_mt.c"],
    // wasi-libc is built without atomics; only its pure pieces (math, string, printf to a buffer) are linked, and
    // the heap is alloc_mt.c's, so the feature check is waived
    flags: [
      ...COMMON,
      "-matomics",
      "-mbulk-memory",
      "-Wl,--shared-memory",
      "-Wl,--import-memory",
      "-Wl,--initial-memory=16777216",
      "-Wl,--max-memory=4294967296",
      "-Wl,--no-check-features",
      "-Wl,--export=__stack_pointer",
    ],
  },
};
/** Debian packages of the toolchain. */
export const WASM_PACKAGES = ["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];
const SYSROOT_LIB = "/usr/lib/wasm32-wasi/libc.a";

/** The compiler's version line, or null when the wasm toolchain (clang + wasm-ld + wasi-libc) is incomplete. */
export function wasmToolchain() {
  const clang = spawnSync("clang", ["--version"], { encoding: "utf8" });
  const lld = spawnSync("wasm-ld", ["--version"], { encoding: "utf8" });
  if (clang.status !== 0 || lld.status !== 0 || !existsSync(SYSROOT_LIB)) return null;
  return clang.stdout.split("\n")[0].trim();
}

export const WASM_OUT = path.join(root, "build/wasm");

/** Compiles every variant into `outDir`; returns file name → sha256. Throws with the compiler's message on failure. */
export function buildWasm(outDir = WASM_OUT) {
  mkdirSync(outDir, { recursive: true });
  const hashes = {};
  for (const [name, { sources, flags }] of Object.entries(WASM_VARIANTS)) {
    const out = path.join(outDir, name);
    const res = spawnSync("clang", [...flags, ...sources, "-o", out], { cwd: root, encoding: "utf8" });
    if (res.status !== 0) throw new Error(`clang failed on ${name} (exit ${res.status}):\n${res.stderr}`);
    hashes[name] = createHash("sha256").update(readFileSync(out)).digest("hex");
  }
  return hashes;
}

function install() {
  const run = (args) =>
    spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (run(["update", "-qq"]).status !== 0 || run(["install", "-y", "-qq", ...WASM_PACKAGES]).status !== 0) {
    throw new Error(`apt-get install ${WASM_PACKAGES.join(" ")} failed (run as root on Debian/Ubuntu)`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (!wasmToolchain() && args.includes("--install")) install();
  const compiler = wasmToolchain();
  if (!compiler) {
    console.error(
      `tlens: no wasm toolchain (clang, wasm-ld, ${SYSROOT_LIB}); install ${WASM_PACKAGES.join(" ")} or pass --install`,
    );
    process.exit(1);
  }
  const outAt = args.indexOf("--out");
  const outDir = outAt >= 0 ? path.resolve(args[outAt + 1]) : WASM_OUT;
  const sha256 = buildWasm(outDir);
  for (const [name, sha] of Object.entries(sha256))
    console.log(`${path.relative(root, path.join(outDir, name))}: sha256 ${sha} (${compiler})`);
}
