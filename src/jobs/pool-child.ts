// A local-pool worker process: loads task modules, then runs the shards its parent sends over IPC, one at a time,
// keeping each model loaded between shards. Replies { id, result } or { id, error, unrecoverable }.
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

process.on("message", (m: PoolRequest) => {
  ready.then(() => runner.runJob({ spec: m.spec, shard: m.shard })).then(
    (result) => send({ id: m.id, result }),
    (e: unknown) => send({
      id: m.id, unrecoverable: e instanceof SpecError,
      error: e instanceof TlensError ? e.message : e instanceof Error ? e.stack ?? e.message : String(e),
    }),
  );
});
process.on("disconnect", () => process.exit(0));
