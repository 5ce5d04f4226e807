// Builds native/wasm/tlens.wasm, the wasm backend's kernels, from the same C sources as the native addon
// (gemm_core.c, ops_generic.c + ops_kern.h) plus native/wasm/ (the flat entry points, a one-thread pool, a
// pthread stand-in). The .wasm is committed; this script reproduces it byte for byte with the toolchain recorded in
// native/wasm/tlens.wasm.json (Debian 12: clang 14, lld 14, wasi-libc; `--install` apt-gets them when missing).
//
//   node scripts/build-wasm.mjs [--install] [--out FILE]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export const WASM_SOURCES = ["native/wasm/tlens_wasm.c", "native/wasm/threadpool_wasm.c", "native/gemm_core.c", "native/ops_generic.c"];
export const WASM_FLAGS = [
  "--target=wasm32-wasi", "-O3", "-msimd128", "-std=gnu11", "-fno-math-errno", "-fno-trapping-math", "-mexec-model=reactor",
  "-Inative/wasm/include", "-Wall", "-Wno-unused-function", "-Wl,--strip-all",
];
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

/** Compiles the module to `out`; returns its sha256. Throws with the compiler's message on failure. */
export function buildWasm(out = path.join(root, "native/wasm/tlens.wasm")) {
  const res = spawnSync("clang", [...WASM_FLAGS, ...WASM_SOURCES, "-o", out], { cwd: root, encoding: "utf8" });
  if (res.status !== 0) throw new Error(`clang failed (exit ${res.status}):\n${res.stderr}`);
  return createHash("sha256").update(readFileSync(out)).digest("hex");
}

function install() {
  const run = (args) => spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (run(["update", "-qq"]).status !== 0 || run(["install", "-y", "-qq", ...WASM_PACKAGES]).status !== 0) {
    throw new Error(`apt-get install ${WASM_PACKAGES.join(" ")} failed (run as root on Debian/Ubuntu)`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (!wasmToolchain() && args.includes("--install")) install();
  const compiler = wasmToolchain();
  if (!compiler) {
    console.error(`tlens: no wasm toolchain (clang, wasm-ld, ${SYSROOT_LIB}); install ${WASM_PACKAGES.join(" ")} or pass --install`);
    process.exit(1);
  }
  const outAt = args.indexOf("--out");
  const out = outAt >= 0 ? path.resolve(args[outAt + 1]) : path.join(root, "native/wasm/tlens.wasm");
  const sha256 = buildWasm(out);
  if (outAt < 0) {
    const manifest = { compiler, packages: WASM_PACKAGES, flags: WASM_FLAGS, sources: WASM_SOURCES, sha256 };
    writeFileSync(path.join(root, "native/wasm/tlens.wasm.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  console.log(`${path.relative(root, out)}: sha256 ${sha256} (${compiler})`);
}
