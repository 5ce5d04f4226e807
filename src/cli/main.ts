#!/usr/bin/env node
// The `tlens` command. Subcommands land with their issues; unknown ones get a usage message.
import { getBackend } from "../backend/index.js";
import { NativeBackend } from "../backend/native.js";
import { TlensError } from "../errors.js";
import { downloadModel, HUB_MODELS } from "../loading/index.js";
import { parseFlags, stringFlag } from "./args.js";
import { ioiCommand } from "./ioi.js";
import { labCommand } from "../lab/command.js";
import { sweepCommand } from "./sweep.js";
import { workerCommand } from "./worker.js";

const USAGE = `usage: tlens <command>

commands:
  ioi [--model <name|dir>] [--out <dir>] [--n 100 --seed 1 ...]
                                       IOI analysis of a model (default toy-ioi): <dir>/index.html, a
                                       self-contained report, and <dir>/results.json (tlens ioi --help)
  lab [--model <name|dir>] [--port N] [--host 127.0.0.1]
                                       the web lab on http://127.0.0.1:8765/ (tlens lab --help)
  sweep SPEC.json --out result.json [--workers N | --queue URL]   a patching sweep job, sharded (tlens sweep --help)
  worker --queue URL [--model M]       runs sweep shards from a Redis queue (tlens worker --help)
  download <model> [--endpoint URL]    fetch a hub model (gpt2-small, ...) into the Hugging Face cache
  info                                 backend and version information`;

/** "native (avx512 kernels, 2 threads, heap-reused large blocks)" or "js" */
function describeBackend(): string {
  const b = getBackend();
  if (!(b instanceof NativeBackend)) return b.name;
  const a = b.addon;
  return `native (${b.isa} kernels, ${a.numThreads()} threads${a.mallocTuned?.() ? ", heap-reused large blocks" : ""})`;
}

function main(argv: string[]): number {
  const [cmd] = argv;
  switch (cmd) {
    case "info":
      console.log(`tlens backend: ${describeBackend()}`);
      return 0;
    case "download": {
      // tlens download <model> [--endpoint URL] [--revision REV] [--cache-dir DIR]: fetch into the HF cache
      const opts: { endpoint?: string; revision?: string; cacheDir?: string } = {};
      const names: string[] = [];
      const error = parseFlags(argv.slice(1), {
        "--endpoint": stringFlag((v) => { opts.endpoint = v; }),
        "--revision": stringFlag((v) => { opts.revision = v; }),
        "--cache-dir": stringFlag((v) => { opts.cacheDir = v; }),
      }, (word) => names.push(word));
      if (error) {
        console.error(`tlens download: ${error}`);
        return 2;
      }
      if (names.length !== 1) {
        console.error(`usage: tlens download <model> [--endpoint URL] [--revision REV] [--cache-dir DIR]\nmodels: ${HUB_MODELS.join(", ")} or a hub repo id`);
        return 2;
      }
      void downloadModel(names[0], opts).then(
        (dir) => {
          console.log(dir);
          process.exitCode = 0;
        },
        (e: unknown) => {
          console.error(`tlens download: ${e instanceof TlensError ? e.message : e instanceof Error ? e.stack ?? e.message : String(e)}`);
          process.exitCode = 1;
        },
      );
      return 0;
    }
    case "ioi":
      void ioiCommand(argv.slice(1)).then(
        (code) => { process.exitCode = code; },
        (e: unknown) => {
          console.error(`tlens ioi: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
          process.exitCode = 1;
        },
      );
      return 0;
    case "sweep": void sweepCommand(argv.slice(1)).then((code) => { process.exitCode = code; }); return 0;
    case "worker": void workerCommand(argv.slice(1)).then((code) => { process.exitCode = code; }); return 0;
    case "lab":
      void labCommand(argv.slice(1)).then((code) => { process.exitCode = code; });
      return 0;
    default:
      console.error(USAGE);
      return cmd === undefined || cmd === "--help" || cmd === "-h" ? 0 : 2;
  }
}

process.exitCode = main(process.argv.slice(2));
