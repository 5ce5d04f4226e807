// `tlens sae`: an sae_vis-style dashboard of an SAE's features over a token dataset run through the model: index.html
// (self-contained: density histogram, per feature its logit effects, activation histogram, top-activating examples
// and quantile groups) and dashboard.json (the same data). The dataset is IOI prompts, or a text file cut into rows
// (--text). On toy-ioi the SAE shipped in models/toy-ioi-sae (TopK, d_sae 512 at blocks.2.hook_resid_pre, trained by
// scripts/train-toy-ioi-sae.ts) is the default; on another model without --sae, one is trained on the dataset first
// (sae-train.ts) and saved into <out>/sae/.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError } from "../errors.js";
import { IOIDataset } from "../datasets/ioi.js";
import { HookedTransformer } from "../model/hooked-transformer.js";
import type { Tensor } from "../tensor/index.js";
import type { SAE } from "../sae/sae.js";
import { loadSae } from "../sae/formats/load.js";
import { saeDashboardData } from "../sae/features/dashboard-data.js";
import { textTokenRows } from "../sae/train/text-rows.js";
import { saeDashboardHtml } from "../viz/sae-dashboard.js";
import { commandArgs, intFlag, parseFlags, stringFlag } from "./args.js";
import { checkOutputDir, writeFilesAtomic } from "./output.js";
import { defaultTrainHook, trainForDashboard, type TrainedForDashboard } from "./sae-train.js";

export const SAE_USAGE = `usage: tlens sae [--model <name|dir>] [--sae <dir|hub repo>] [--hook <name>] [--text <file>] [--features 3,17,...] [--out <dir>]

Runs the model over a token dataset (IOI prompts, or --text), encodes the hook's activations with the SAE and writes
<dir>/index.html (an sae_vis-style feature dashboard, self-contained: open it as a file, offline) and
<dir>/dashboard.json (its data). Without --sae on a model other than toy-ioi, it first trains a TopK SAE on the
dataset and saves it into <dir>/sae/ (a SAELens folder: pass it as --sae next time).

options:
  --model <name|dir>   model name or folder (default toy-ioi)
  --sae <dir|repo>     a SAELens folder or hub repo (default on toy-ioi: the shipped models/toy-ioi-sae; elsewhere
                       one is trained)
  --folder <path>      the SAE's subfolder inside a hub repo
  --hook <name>        the hook the SAE reads (checked against its cfg.json; default: the SAE's; for a trained SAE
                       default blocks.<n_layers / 2>.hook_resid_pre)
  --text <file>        the dataset: a UTF-8 text file, tokenized and cut into rows of --ctx tokens (BOS first when
                       the model prepends one); default IOI prompts
  --ctx <N>            tokens per row of --text (default min(n_ctx, 128))
  --n <N>              IOI prompts, or at most N rows of --text (default 300)
  --features <list>    comma-separated feature indices (default: the 6 that fire most)
  --seed <S>           seed of the prompts, the quantile-group draws and the training (default 0)
  --train-tokens <N>   activations to train on, the dataset repeated as needed (default 200000)
  --k <K>              the trained SAE's TopK k (default 8)
  --expansion <E>      the trained SAE's d_sae / d_model (default 4)
  --out <dir>          output folder (default sae-dashboard)
  --verbose            stack traces with errors (also TLENS_DEBUG=1)
  -h, --help           this help`;

/** The SAE shipped with the package for toy-ioi. */
export function shippedSaeDir(): string {
  // src/cli/ and dist/cli/ are both two levels below the package root
  return fileURLToPath(new URL("../../models/toy-ioi-sae", import.meta.url));
}

interface SaeArgs {
  model: string;
  sae: string | null;
  folder?: string;
  hook: string | null;
  features: number[] | null;
  n: number;
  seed: number;
  out: string;
  text: string | null;
  ctx: number | null;
  trainTokens: number;
  k: number;
  expansion: number;
}

function parseArgs(argv: readonly string[]): SaeArgs | string {
  const r: SaeArgs = {
    model: "toy-ioi",
    sae: null,
    hook: null,
    features: null,
    n: 300,
    seed: 0,
    out: "sae-dashboard",
    text: null,
    ctx: null,
    trainTokens: 200_000,
    k: 8,
    expansion: 4,
  };
  let bad: string | undefined;
  const error = parseFlags(argv, {
    "--model": stringFlag((v) => {
      r.model = v;
    }),
    "--sae": stringFlag((v) => {
      r.sae = v;
    }),
    "--folder": stringFlag((v) => {
      r.folder = v;
    }),
    "--hook": stringFlag((v) => {
      r.hook = v;
    }),
    "--out": stringFlag((v) => {
      r.out = v;
    }),
    "--text": stringFlag((v) => {
      r.text = v;
    }),
    "--features": stringFlag((v) => {
      const parts = v.split(",").map((s) => s.trim());
      if (parts.every((s) => /^[0-9]+$/.test(s))) r.features = parts.map(Number);
      else bad = `--features: comma-separated feature indices (got ${v})`;
    }),
    "--n": intFlag(1, Infinity, (n) => {
      r.n = n;
    }),
    "--ctx": intFlag(2, Infinity, (n) => {
      r.ctx = n;
    }),
    "--seed": intFlag(0, 2 ** 31, (n) => {
      r.seed = n;
    }),
    "--train-tokens": intFlag(1000, Infinity, (n) => {
      r.trainTokens = n;
    }),
    "--k": intFlag(1, Infinity, (n) => {
      r.k = n;
    }),
    "--expansion": intFlag(1, 64, (n) => {
      r.expansion = n;
    }),
    "--verbose": () => {},
  });
  return error ?? bad ?? r;
}

/** The dataset [rows, ctx]: --text cut into rows, else IOI prompts; and how cfg.json / dashboard.json name it. */
async function tokenDataset(model: HookedTransformer, p: SaeArgs): Promise<{ tokens: Tensor; name: string }> {
  if (p.text !== null) {
    const text = await readFile(p.text, "utf8").catch((e: NodeJS.ErrnoException) => {
      throw new CliError(`tlens sae: cannot read --text ${p.text}: ${e.code ?? e.message}`);
    });
    const rows = textTokenRows(model, text, p.ctx ?? Math.min(model.cfg.nCtx, 128));
    return { tokens: rows.narrow(0, 0, Math.min(p.n, rows.shape[0]!)), name: `text ${p.text}` };
  }
  if (!model.tokenizer) throw new CliError(`tlens sae: ${p.model} has no tokenizer; the IOI prompts need one`);
  const tokens = new IOIDataset({
    promptType: "mixed",
    N: p.n,
    seed: p.seed,
    prependBos: true,
    tokenizer: model.tokenizer,
  }).toks; // [n, ctx]
  return { tokens, name: `IOIDataset mixed N=${p.n} seed=${p.seed}` };
}

/** The SAE: --sae, the shipped one on toy-ioi, or one trained on the dataset. */
async function theSae(
  model: HookedTransformer,
  p: SaeArgs,
  tokens: Tensor,
  dataset: string,
  log: (s: string) => void,
): Promise<{ sae: SAE; trained: TrainedForDashboard | null }> {
  if (p.sae !== null || p.model === "toy-ioi") {
    const { sae } = await loadSae(p.sae ?? shippedSaeDir(), p.folder ? { folder: p.folder } : {});
    if (p.hook !== null && p.hook !== sae.cfg.hookName)
      throw new CliError(
        `tlens sae: --hook ${p.hook}, but the SAE reads "${sae.cfg.hookName}" (its cfg.json hook_name)`,
      );
    if (!model.hookPoints.has(sae.cfg.hookName))
      throw new CliError(`tlens sae: the SAE's hook "${sae.cfg.hookName}" is not a hook point of ${p.model}`);
    return { sae, trained: null };
  }
  const hook = p.hook ?? defaultTrainHook(model.cfg.nLayers);
  if (!model.hookPoints.has(hook)) throw new CliError(`tlens sae: --hook "${hook}" is not a hook point of ${p.model}`);
  const trained = await trainForDashboard(
    model,
    tokens,
    { hook, k: p.k, expansion: p.expansion, trainTokens: p.trainTokens, seed: p.seed, dataset },
    log,
  );
  return { sae: trained.sae, trained };
}

/** `tlens sae ...`: returns the exit code (user errors are thrown, as TlensErrors, for main's handler). */
export async function saeCommand(argv: string[]): Promise<number> {
  const p = commandArgs("sae", SAE_USAGE, argv, parseArgs);
  if (typeof p === "number") return p;
  const start = Date.now();
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const out = await checkOutputDir(p.out);
  log(`tlens sae: loading ${p.model}`);
  const model = await HookedTransformer.fromPretrained(p.model);
  const { tokens, name } = await tokenDataset(model, p);
  const { sae, trained } = await theSae(model, p, tokens, name, log);
  log(
    `tlens sae: ${sae.cfg.architecture} SAE, d_sae ${sae.cfg.dSae} at ${sae.cfg.hookName}; ${tokens.shape[0]} × ${tokens.shape[1]} tokens`,
  );
  const data = await saeDashboardData(model, sae, tokens, p.features ?? undefined, { seed: p.seed });
  const files: Record<string, string | Uint8Array> = {};
  if (trained) {
    await mkdir(join(out, "sae"), { recursive: true });
    for (const [f, body] of Object.entries(trained.files)) files[`sae/${f}`] = body;
  }
  const where = trained ? "trained: sae/" : (p.sae ?? "models/toy-ioi-sae");
  const training = trained && {
    ...trained.evaluation,
    deadFraction: trained.deadFraction,
    tokensPerSecond: trained.tokensPerSecond,
    trainTokens: p.trainTokens,
    k: p.k,
    expansion: p.expansion,
  };
  const json = {
    ...data,
    sae: where,
    ...(training ? { training } : {}),
    prompts:
      p.text === null
        ? { kind: "IOIDataset mixed", n: p.n, seed: p.seed }
        : { kind: "text", file: p.text, rows: tokens.shape[0] },
  };
  await writeFilesAtomic(out, {
    ...files,
    "index.html": saeDashboardHtml(data),
    "dashboard.json": JSON.stringify(json),
  });
  log(
    `tlens sae: wrote ${join(out, "index.html")} and ${join(out, "dashboard.json")}${trained ? ` and the SAE in ${join(out, "sae")}` : ""} (features ${data.features.map((f) => f.feature).join(", ")}) in ${((Date.now() - start) / 1000).toFixed(1)}s`,
  );
  return 0;
}
