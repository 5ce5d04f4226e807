// A shard process (of the local pool, or of a queue worker): loads task modules, then runs the shards its parent
// sends over IPC, one at a time, keeping each model loaded between shards. Replies { id, result } (or { id, loaded }
// to a load request) or { id, error, unrecoverable }.
import { TlensError } from "../errors.js";
import { SpecError } from "./errors.js";
import { ShardRunner } from "./runner.js";
import { loadTaskModules } from "./tasks.js";
import type { PoolReply, PoolRequest } from "./pool-protocol.js";

const runner = new ShardRunner();
const ready = loadTaskModules(JSON.parse(process.env.TLENS_TASK_MODULES ?? "[]") as string[]);

function send(reply: PoolReply): void {
  process.send?.(reply);
}

function handle(m: PoolRequest): Promise<PoolReply> {
  if ("load" in m) return runner.model(m.load).then(() => ({ id: m.id, loaded: true }));
  return runner.runJob({ spec: m.spec, shard: m.shard }).then((result) => ({ id: m.id, result }));
}

// one request at a time, in arrival order: concurrent sweeps on one model would share its hook state
let queue: Promise<unknown> = ready;
process.on("message", (m: PoolRequest) => {
  queue = queue
    .then(() => handle(m))
    .then(send, (e: unknown) =>
      send({
        id: m.id,
        unrecoverable: e instanceof SpecError,
        error: e instanceof TlensError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e),
      }),
    );
});
process.on("disconnect", () => process.exit(0));
