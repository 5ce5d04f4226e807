// `tlens ioi`: the IOI analysis of seed 002 on any GPT-2-vocabulary model (runIoiPipeline), written as a
// self-contained HTML report (index.html, also report.html; viz/ioi-report.ts) and the raw numbers (results.json).
// The output folder is checked before the model loads; the files are replaced as one set (cli/output.ts).
import { join } from "node:path";
import { HookedTransformer } from "../model/hooked-transformer.js";
import { ioiResultsJson, runIoiPipeline, type IoiOptions } from "../analysis/ioi/index.js";
import { ioiReport } from "../viz/ioi-report.js";
import { toHtml } from "../viz/html.js";
import { commandArgs, intFlag, parseFlags, stringFlag } from "./args.js";
import { checkOutputDir, writeFilesAtomic } from "./output.js";

export const IOI_USAGE = `usage: tlens ioi [--model <name|dir>] [--out <dir>] [options]

Runs the IOI analysis (seed 002) on a model and writes <dir>/index.html (a self-contained report: open it as a file,
offline) and <dir>/results.json (every number).

options:
  --model <name|dir>   model name (toy-ioi, gpt2-small, ...) or a model folder (default toy-ioi)
  --out <dir>          output folder (default report)
  --n <N>              number of IOI prompts (default 100)
  --seed <S>           dataset seed (default 1)
  --prompt-type <T>    IOI templates: mixed, ABBA, BABA (default mixed)
  --prepend-bos        put BOS before each prompt (default off)
  --top-heads <K>      heads shown in the viewers (default 4)
  --no-path-patching   skip path patching
  --device <d>         cpu (the only device for now)
  --verbose            stack traces with errors (also TLENS_DEBUG=1)
  -h, --help           this help`;

interface ParsedArgs {
  model: string;
  out: string;
  opts: IoiOptions;
}

function parseArgs(argv: readonly string[]): ParsedArgs | string {
  const r: ParsedArgs = { model: "toy-ioi", out: "report", opts: {} };
  const error = parseFlags(argv, {
    "--model": stringFlag((v) => {
      r.model = v;
    }),
    "--out": stringFlag((v) => {
      r.out = v;
    }),
    "--n": intFlag(1, Infinity, (n) => {
      r.opts.n = n;
    }),
    "--seed": intFlag(0, Infinity, (n) => {
      r.opts.seed = n;
    }),
    "--top-heads": intFlag(1, Infinity, (n) => {
      r.opts.topHeads = n;
    }),
    "--prompt-type": stringFlag((v) => {
      r.opts.promptType = v;
    }),
    "--prepend-bos": () => {
      r.opts.prependBos = true;
    },
    "--no-path-patching": () => {
      r.opts.skipPathPatching = true;
    },
    "--verbose": () => {}, // read by main.ts: stack traces with errors
    "--device": (value) => {
      const v = value();
      return v === "cpu" ? undefined : `--device: only "cpu" is available (got ${v ?? "nothing"})`;
    },
  });
  return error ?? r;
}

/** `tlens ioi ...`: returns the exit code (user errors are thrown, as TlensErrors, for main's handler). */
export async function ioiCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs("ioi", IOI_USAGE, argv, parseArgs);
  if (typeof parsed === "number") return parsed;
  const start = Date.now();
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const out = await checkOutputDir(parsed.out);
  log(`tlens ioi: loading ${parsed.model}`);
  const model = await HookedTransformer.fromPretrained(parsed.model);
  const results = await runIoiPipeline(model, {
    ...parsed.opts,
    modelName: parsed.model,
    log,
    progressBar: Boolean(process.stderr.isTTY),
  });
  const page = toHtml(ioiReport(results), { title: `IOI report: ${parsed.model}` });
  await writeFilesAtomic(out, {
    "index.html": page,
    "report.html": page,
    "results.json": JSON.stringify(ioiResultsJson(results), null, 1),
  });
  log(
    `tlens ioi: wrote ${join(out, "index.html")} and ${join(out, "results.json")} in ${((Date.now() - start) / 1000).toFixed(1)}s ` +
      `(logit diff clean ${results.logitDiff.clean.toFixed(3)}, flipped ${results.logitDiff.flipped.toFixed(3)})`,
  );
  return 0;
}
