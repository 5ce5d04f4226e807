// `tlens lab`: loads the model once and serves the lab until interrupted.
import { commandArgs, intFlag, parseFlags, stringFlag } from "../cli/args.js";
import { CliError, TlensError } from "../errors.js";
import { DEFAULT_QUEUE_NAME } from "../jobs/redis.js";
import { QueueExecutor } from "../jobs/queue.js";
import { HookedTransformer } from "../model/hooked-transformer.js";
import { loadSae } from "../sae/formats/load.js";
import { hookWidth } from "../sae/hook-width.js";
import type { SAE } from "../sae/sae.js";
import { browserModelDir, BUNDLE_DIR } from "./assets.js";
import { LabModel } from "./compute.js";
import { isLoopback, startLab } from "./server.js";
import type { LabSweeps } from "./sweep.js";

export const LAB_USAGE = `usage: tlens lab [--model <name|dir>] [--port N] [--host 127.0.0.1] [--allowed-host NAME]...
                 [--queue redis://127.0.0.1:6379 [--queue-name NAME]] [--sae <dir|hub repo>]

Starts the web lab: a local page to run prompts, see tokens, predictions, attention patterns, the logit lens, direct
logit attribution per head and activation-patching sweeps, on one model loaded once.

options:
  --model <name|dir>   model name (toy-ioi, gpt2-small, ...) or a model folder (default toy-ioi)
  --port <N>           port (default 8765; 0 = any free port)
  --host <addr>        address to listen on (default 127.0.0.1). The lab has no authentication: another address
                       (0.0.0.0, a LAN address) exposes the model to everyone who can reach it, so it is only used
                       when given here explicitly
  --allowed-host <name>  a host name the page may be opened under besides localhost, 127.0.0.1, [::1] and the
                       --host address (repeatable); requests addressed to any other name get 403 (DNS rebinding)
  --queue <url>        send the page's long IOI sweeps to this BullMQ queue on Redis (redis://, rediss:// for TLS):
                       \`tlens worker --queue <url> --model <the same model>\` processes run their shards, the page shows
                       progress and the merged result (docs/distributed.md)
  --queue-name <name>  the queue's name (default ${DEFAULT_QUEUE_NAME}; workers need the same --queue-name)
  --sae <dir|repo>     an SAE of the model (a SAELens folder or hub repo, e.g. models/toy-ioi-sae on toy-ioi): the page
                       gets an SAE panel (pick a feature, see where it fires on the prompt, its logit effects)
  -h, --help           this help`;

interface LabArgs {
  model: string;
  port: number;
  host?: string;
  allowedHosts: string[];
  queue?: string;
  queueName?: string;
  sae?: string;
}

function parseArgs(argv: readonly string[]): LabArgs | string {
  const r: LabArgs = { model: "toy-ioi", port: 8765, allowedHosts: [] };
  const error = parseFlags(argv, {
    "--model": stringFlag((v) => {
      r.model = v;
    }),
    "--host": stringFlag((v) => {
      r.host = v;
    }),
    "--allowed-host": stringFlag((v) => {
      r.allowedHosts.push(v);
    }),
    "--port": intFlag(0, 65535, (n) => {
      r.port = n;
    }),
    "--queue": stringFlag((v) => {
      r.queue = v;
    }),
    "--queue-name": stringFlag((v) => {
      r.queueName = v;
    }),
    "--sae": stringFlag((v) => {
      r.sae = v;
    }),
  });
  if (!error && r.queueName !== undefined && r.queue === undefined) return "--queue-name needs --queue";
  return error ?? r;
}

/** The --sae SAE, checked to read one of the model's hook points at its width. */
async function labSae(model: HookedTransformer, source: string): Promise<SAE> {
  const { sae } = await loadSae(source);
  const { hookName, dIn } = sae.cfg;
  if (!model.hookPoints.has(hookName))
    throw new CliError(`--sae ${source}: its hook "${hookName}" is not a hook point of the model`);
  const width = hookWidth(model.cfg, hookName);
  if (width !== null && width !== dIn)
    throw new CliError(`--sae ${source}: its d_in is ${dIn}, but ${hookName} is ${width} wide`);
  process.stderr.write(`tlens lab: SAE ${sae.cfg.architecture}, d_sae ${sae.cfg.dSae} at ${hookName}\n`);
  return sae;
}

/** `tlens lab ...`: resolves with an exit code when it fails to start; otherwise serves until the process ends. */
export async function labCommand(argv: string[]): Promise<number> {
  const args = commandArgs("lab", LAB_USAGE, argv, parseArgs);
  if (typeof args === "number") return args;
  try {
    process.stderr.write(`tlens lab: loading ${args.model}\n`);
    const model = await HookedTransformer.fromPretrained(args.model);
    const lab = new LabModel(model, args.model, args.sae === undefined ? null : await labSae(model, args.sae));
    const browser = { bundleDir: BUNDLE_DIR, model: await browserModelDir(args.model) };
    const sweeps: LabSweeps | undefined =
      args.queue === undefined
        ? undefined
        : {
            executor: new QueueExecutor({ url: args.queue, queueName: args.queueName }),
            model: { name: args.model },
            queue: args.queueName ?? DEFAULT_QUEUE_NAME,
          };
    const server = await startLab(lab, {
      host: args.host,
      port: args.port,
      allowNonLoopback: args.host !== undefined,
      allowedHosts: args.allowedHosts,
      browser,
      sweeps,
    });
    if (sweeps)
      process.stderr.write(
        `tlens lab: sweeps go to queue ${sweeps.queue} (run \`tlens worker --queue <url> --model ${args.model}\`)\n`,
      );
    if (!isLoopback(server.host)) {
      process.stderr.write(
        `tlens lab: WARNING: listening on ${server.host}, not on loopback: anyone who can reach this address can use the lab (there is no authentication)\n`,
      );
    }
    process.stderr.write(
      `tlens lab: run in browser: ${server.browser.available ? "available" : `unavailable (${server.browser.reason})`}\n`,
    );
    console.log(`tlens lab: ${server.url}/ (model ${args.model}; Ctrl+C stops)`);
    return 0;
  } catch (e) {
    const message = e instanceof TlensError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    console.error(`tlens lab: ${message}`);
    return 1;
  }
}
