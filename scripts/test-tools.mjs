#!/usr/bin/env node
// The first step of `npm test`: every system tool a test needs is present before a test runs, so no test is ever
// skipped for a missing tool. As root (CI, containers) the missing ones are installed from Debian's packages;
// otherwise it stops at once with the exact command to run.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildBrowser } from "./build-browser.mjs";
import { wasmToolchain } from "./build-wasm.mjs";

const onPath = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
/** The Python that runs `jupyter` (its shebang), which need not be the first python3 on PATH (pyenv, a venv). */
export function jupyterPython() {
  const which = spawnSync("sh", ["-c", "command -v jupyter"], { encoding: "utf8" }).stdout.trim();
  const shebang = which && existsSync(which) ? readFileSync(which, "utf8").split("\n")[0] : "";
  return /^#!\s*(\S+python\S*)\s*$/.exec(shebang)?.[1] ?? "python3";
}
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** What the tests need: a check and the Debian packages that satisfy it. */
export const TOOLS = [
  {
    need: "headless Chromium (browser, viewer, report and lab tests)",
    ok: () =>
      process.env.TLENS_CHROMIUM ? existsSync(process.env.TLENS_CHROMIUM) : CHROMIUM.some((p) => existsSync(p)),
    packages: ["chromium"],
  },
  {
    need: "the wasm toolchain: clang, wasm-ld, wasi-libc (the browser's wasm kernels)",
    ok: () => wasmToolchain() !== null,
    packages: ["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"],
  },
  {
    need: "redis-server (the job-queue tests run a real Redis on 127.0.0.1)",
    ok: () => onPath("redis-server"),
    packages: ["redis-server"],
  },
  {
    need: "Jupyter with a Python kernel (the notebook test runs a notebook in a tslab kernel)",
    ok: () =>
      onPath("jupyter-nbconvert") &&
      spawnSync(jupyterPython(), ["-c", "import ipykernel"], { stdio: "ignore" }).status === 0,
    packages: ["jupyter-nbconvert", "jupyter-client", "python3-ipykernel"],
  },
];

function apt(args) {
  const r = spawnSync("apt-get", args, {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
}

const WASM_BUNDLE = fileURLToPath(new URL("../dist/browser/tlens.wasm", import.meta.url));

async function main() {
  installMissing();
  // `npm ci` built the browser bundle without wasm kernels when the toolchain was missing then: build them now
  if (!existsSync(WASM_BUNDLE)) await buildBrowser();
}

function installMissing() {
  const missing = TOOLS.filter((t) => !t.ok());
  if (missing.length === 0) return;
  const packages = missing.flatMap((t) => t.packages);
  for (const t of missing) console.error(`test tools: missing ${t.need}`);
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !onPath("apt-get")) {
    console.error(
      `test tools: install them first, then rerun npm test:\n  sudo apt-get install -y ${packages.join(" ")}`,
    );
    process.exit(1);
  }
  console.error(`test tools: installing ${packages.join(" ")} (apt-get, as root)`);
  apt(["update", "-qq"]);
  apt(["install", "-y", "-qq", ...packages]);
  const still = TOOLS.filter((t) => !t.ok());
  if (still.length > 0) {
    console.error(`test tools: still missing after the install: ${still.map((t) => t.need).join("; ")}`);
    process.exit(1);
  }
}

// run as `node scripts/test-tools.mjs`; the notebook test imports jupyterPython only
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
