#!/usr/bin/env node
// The `tlens` command. Subcommands land with their issues; unknown ones get a usage message.
import { getBackend } from "../backend/index.js";
import { NativeBackend } from "../backend/native.js";
import { downloadModel, HUB_MODELS } from "../loading/index.js";
import { parseFlags, stringFlag } from "./args.js";
import { describeError } from "./errors.js";
import { ioiCommand } from "./ioi.js";
import { circuitCommand } from "./circuit.js";
import { saeCommand } from "./sae.js";
import { labCommand } from "../lab/command.js";
import { sweepCommand } from "./sweep.js";
import { workerCommand } from "./worker.js";

const USAGE = `usage: tlens <command>

commands:
  ioi [--model <name|dir>] [--out <dir>] [--n 100 --seed 1 ...]
                                       IOI analysis of a model (default toy-ioi): <dir>/index.html, a
                                       self-contained report, and <dir>/results.json (tlens ioi --help)
  circuit [--model M] [--task ioi] [--method eap-ig] [--out <dir>]   edge attribution circuit report (tlens circuit --help)
  sae [--model M] [--sae DIR] [--hook H] [--out <dir>]   sae_vis-style SAE feature dashboard (tlens sae --help)
  lab [--model <name|dir>] [--port N] [--host 127.0.0.1]
                                       the web lab on http://127.0.0.1:8765/ (tlens lab --help)
  sweep SPEC.json --out result.json [--workers N | --queue URL]   a patching sweep job, sharded (tlens sweep --help)
  worker --queue URL [--model M]       runs sweep shards from a Redis queue (tlens worker --help)
  download <model> [--endpoint URL]    fetch a hub model (gpt2-small, ...) into the Hugging Face cache
  info                                 backend and version information

tlens --verbose <command> (or TLENS_DEBUG=1) prints stack traces with errors.`;

/** "native (avx512 kernels, 2 threads, heap-reused large blocks)" or "js" */
function describeBackend(): string {
  const b = getBackend();
  if (!(b instanceof NativeBackend)) return b.name;
  const a = b.addon;
  return `native (${b.isa} kernels, ${a.numThreads()} threads${a.mallocTuned?.() ? ", heap-reused large blocks" : ""})`;
}

/** Runs a command's promise to its exit code; a rejection is printed by describeError. */
function settle(cmd: string, run: Promise<number>, verbose: boolean): void {
  run.then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(describeError(cmd, e, verbose));
      process.exitCode = 1;
    },
  );
}

function download(argv: string[], verbose: boolean): number {
  // tlens download <model> [--endpoint URL] [--revision REV] [--cache-dir DIR]: fetch into the HF cache
  const opts: { endpoint?: string; revision?: string; cacheDir?: string } = {};
  const names: string[] = [];
  const error = parseFlags(
    argv,
    {
      "--endpoint": stringFlag((v) => {
        opts.endpoint = v;
      }),
      "--revision": stringFlag((v) => {
        opts.revision = v;
      }),
      "--cache-dir": stringFlag((v) => {
        opts.cacheDir = v;
      }),
    },
    (word) => names.push(word),
  );
  if (error) {
    console.error(`tlens download: ${error}`);
    return 2;
  }
  if (names.length !== 1) {
    console.error(
      `usage: tlens download <model> [--endpoint URL] [--revision REV] [--cache-dir DIR]\nmodels: ${HUB_MODELS.join(", ")} or a hub repo id`,
    );
    return 2;
  }
  settle(
    "download",
    downloadModel(names[0]!, opts).then((dir) => {
      console.log(dir);
      return 0;
    }),
    verbose,
  );
  return 0;
}

function main(args: string[]): number {
  // stack traces with errors: `tlens --verbose <command>`, `tlens ioi ... --verbose` (a flag of ioi's), TLENS_DEBUG=1
  const argv = args[0] === "--verbose" ? args.slice(1) : args;
  const [cmd] = argv;
  const verbose = argv !== args || process.env.TLENS_DEBUG === "1" || (cmd === "ioi" && argv.includes("--verbose"));
  switch (cmd) {
    case "info":
      console.log(`tlens backend: ${describeBackend()}`);
      return 0;
    case "download":
      return download(argv.slice(1), verbose);
    case "ioi":
      settle("ioi", ioiCommand(argv.slice(1)), verbose);
      return 0;
    case "sweep":
      void sweepCommand(argv.slice(1)).then((code) => {
        process.exitCode = code;
      });
      return 0;
    case "worker":
      void workerCommand(argv.slice(1)).then((code) => {
        process.exitCode = code;
      });
      return 0;
    case "circuit":
      settle("circuit", circuitCommand(argv.slice(1)), verbose);
      return 0;
    case "sae":
      settle("sae", saeCommand(argv.slice(1)), verbose);
      return 0;
    case "lab":
      settle("lab", labCommand(argv.slice(1)), verbose);
      return 0;
    default:
      console.error(USAGE);
      return cmd === undefined || cmd === "--help" || cmd === "-h" ? 0 : 2;
  }
}

process.exitCode = main(process.argv.slice(2));
