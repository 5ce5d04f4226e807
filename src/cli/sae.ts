// `tlens sae`: an sae_vis-style dashboard of an SAE's features over IOI prompts run through the model: index.html
// (self-contained: density histogram, per feature its logit effects, activation histogram, top-activating examples
// and quantile groups) and dashboard.json (the same data). On toy-ioi the SAE shipped in models/toy-ioi-sae (TopK,
// d_sae 512 at blocks.2.hook_resid_pre, trained by scripts/train-toy-ioi-sae.ts) is the default.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TlensError } from "../errors.js";
import { IOIDataset } from "../datasets/ioi.js";
import { HookedTransformer } from "../model/hooked-transformer.js";
import { loadSae } from "../sae/formats/load.js";
import { saeDashboardData } from "../sae/features/dashboard-data.js";
import { saeDashboardHtml } from "../viz/sae-dashboard.js";
import { commandArgs, intFlag, parseFlags, stringFlag } from "./args.js";
import { checkOutputDir, writeFilesAtomic } from "./output.js";

export const SAE_USAGE = `usage: tlens sae [--model <name|dir>] [--sae <dir|hub repo>] [--hook <name>] [--features 3,17,...] [--out <dir>]

Runs the model over IOI prompts, encodes the hook's activations with the SAE and writes <dir>/index.html (an
sae_vis-style feature dashboard, self-contained: open it as a file, offline) and <dir>/dashboard.json (its data).

options:
  --model <name|dir>   model name or folder (default toy-ioi)
  --sae <dir|repo>     a SAELens folder or hub repo (default on toy-ioi: the shipped models/toy-ioi-sae)
  --folder <path>      the SAE's subfolder inside a hub repo
  --hook <name>        the hook the SAE reads (checked against its cfg.json; default: the SAE's)
  --features <list>    comma-separated feature indices (default: the 6 that fire most)
  --n <N>              IOI prompts (default 300)
  --seed <S>           seed of the prompts and the quantile-group draws (default 0)
  --out <dir>          output folder (default sae-dashboard)
  --verbose            stack traces with errors (also TLENS_DEBUG=1)
  -h, --help           this help`;

/** The SAE shipped with the package for toy-ioi. */
export function shippedSaeDir(): string {
  // src/cli/ and dist/cli/ are both two levels below the package root
  return fileURLToPath(new URL("../../models/toy-ioi-sae", import.meta.url));
}

interface SaeArgs { model: string; sae: string | null; folder?: string; hook: string | null; features: number[] | null; n: number; seed: number; out: string }

function parseArgs(argv: readonly string[]): SaeArgs | string {
  const r: SaeArgs = { model: "toy-ioi", sae: null, hook: null, features: null, n: 300, seed: 0, out: "sae-dashboard" };
  let bad: string | undefined;
  const error = parseFlags(argv, {
    "--model": stringFlag((v) => { r.model = v; }),
    "--sae": stringFlag((v) => { r.sae = v; }),
    "--folder": stringFlag((v) => { r.folder = v; }),
    "--hook": stringFlag((v) => { r.hook = v; }),
    "--out": stringFlag((v) => { r.out = v; }),
    "--features": stringFlag((v) => {
      const parts = v.split(",").map((s) => s.trim());
      if (parts.every((s) => /^[0-9]+$/.test(s))) r.features = parts.map(Number);
      else bad = `--features: comma-separated feature indices (got ${v})`;
    }),
    "--n": intFlag(1, Infinity, (n) => { r.n = n; }),
    "--seed": intFlag(0, 2 ** 31, (n) => { r.seed = n; }),
    "--verbose": () => {},
  });
  return error ?? bad ?? r;
}

/** `tlens sae ...`: returns the exit code (user errors are thrown, as TlensErrors, for main's handler). */
export async function saeCommand(argv: string[]): Promise<number> {
  const p = commandArgs("sae", SAE_USAGE, argv, parseArgs);
  if (typeof p === "number") return p;
  const start = Date.now();
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  if (p.sae === null && p.model !== "toy-ioi") throw new TlensError(`tlens sae: pass --sae <SAELens folder or hub repo> (an SAE is shipped only for toy-ioi)`);
  const out = await checkOutputDir(p.out);
  log(`tlens sae: loading ${p.model}`);
  const model = await HookedTransformer.fromPretrained(p.model);
  const { sae } = await loadSae(p.sae ?? shippedSaeDir(), p.folder ? { folder: p.folder } : {});
  if (p.hook !== null && p.hook !== sae.cfg.hookName) throw new TlensError(`tlens sae: --hook ${p.hook}, but the SAE reads "${sae.cfg.hookName}" (its cfg.json hook_name)`);
  if (!model.hookPoints.has(sae.cfg.hookName)) throw new TlensError(`tlens sae: the SAE's hook "${sae.cfg.hookName}" is not a hook point of ${p.model}`);
  if (!model.tokenizer) throw new TlensError(`tlens sae: ${p.model} has no tokenizer; the IOI prompts need one`);
  const tokens = new IOIDataset({ promptType: "mixed", N: p.n, seed: p.seed, prependBos: true, tokenizer: model.tokenizer }).toks; // [n, ctx]
  log(`tlens sae: ${sae.cfg.architecture} SAE, d_sae ${sae.cfg.dSae} at ${sae.cfg.hookName}; ${tokens.shape[0]} × ${tokens.shape[1]} tokens`);
  const data = await saeDashboardData(model, sae, tokens, p.features ?? undefined, { seed: p.seed });
  const json = { ...data, sae: p.sae ?? "models/toy-ioi-sae", prompts: { kind: "IOIDataset mixed", n: p.n, seed: p.seed } };
  await writeFilesAtomic(out, { "index.html": saeDashboardHtml(data), "dashboard.json": JSON.stringify(json) });
  log(`tlens sae: wrote ${join(out, "index.html")} and ${join(out, "dashboard.json")} (features ${data.features.map((f) => f.feature).join(", ")}) in ${((Date.now() - start) / 1000).toFixed(1)}s`);
  return 0;
}
