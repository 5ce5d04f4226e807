// Builds the native kernels (native/*.c) with node-gyp at install time. Where no C toolchain exists, tlens
// still works on the pure-JS backend: print one warning line and succeed instead of failing `npm ci`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

if (process.env.TLENS_SKIP_NATIVE === "1") process.exit(0);

const require = createRequire(import.meta.url);
const npmDir = path.dirname(path.dirname(process.execPath));
const candidates = [
  process.env.npm_config_node_gyp,
  path.join(npmDir, "lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
];
try {
  candidates.push(require.resolve("node-gyp/bin/node-gyp.js"));
} catch {
  /* not installed locally */
}
const gyp = candidates.find((p) => p && existsSync(p));

const args = ["rebuild", "--release"];
// Build against the headers of the Node that runs us when they are installed with it (works offline).
const headers = path.join(npmDir, "include/node/node_api.h");
if (existsSync(headers)) args.push(`--nodedir=${npmDir}`);

const res = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })
  : null;
if (!res || res.status !== 0) {
  const why = !gyp
    ? "node-gyp not found"
    : (res?.stderr || "").split("\n").find((l) => /error/i.test(l)) || `exit ${res?.status}`;
  console.warn(`tlens: native kernels not built (${why.trim()}); using the pure-JS backend.`);
}
