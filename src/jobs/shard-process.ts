// One shard process (pool-child.ts) driven by promises: a queue worker computes its shards there, so that its own
// event loop stays free to renew job locks and check for stalled jobs while a shard runs (the kernels block).
import { fork, type ChildProcess } from "node:child_process";
import { TlensError } from "../errors.js";
import { SpecError } from "./errors.js";
import type { PoolReply, PoolRequest } from "./pool-protocol.js";
import { siblingModule } from "./processes.js";
import type { Shard, ShardResult } from "./shards.js";
import type { ModelSpec, SweepSpec } from "./spec.js";

type Waiter = { resolve: (r: PoolReply) => void; reject: (e: Error) => void };

export class ShardProcess {
  private child: ChildProcess | null = null;
  private readonly waiting = new Map<string, Waiter>();
  private next = 0;

  /** `taskModules`: imported by the process first; it inherits this process's environment (TLENS_NUM_THREADS). */
  constructor(private readonly taskModules: readonly string[]) {}

  private process(): ChildProcess {
    if (this.child) return this.child;
    const { file, execArgv } = siblingModule("pool-child");
    const child = fork(file, [], { execArgv, env: { ...process.env, TLENS_TASK_MODULES: JSON.stringify(this.taskModules) }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.on("message", (m: PoolReply) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      w?.resolve(m);
    });
    child.on("exit", (code, signal) => {
      this.child = null; // the next request starts a fresh process
      for (const w of this.waiting.values()) w.reject(new TlensError(`shard process exited (${signal ?? `code ${code}`})`));
      this.waiting.clear();
    });
    this.child = child;
    return child;
  }

  private async request(req: PoolRequest): Promise<PoolReply> {
    const reply = await new Promise<PoolReply>((resolve, reject) => {
      this.waiting.set(req.id, { resolve, reject });
      this.process().send(req);
    });
    if ("error" in reply) throw reply.unrecoverable ? new SpecError(reply.error) : new TlensError(reply.error);
    return reply;
  }

  async load(model: ModelSpec): Promise<void> {
    await this.request({ id: `load-${this.next++}`, load: model });
  }

  async run(spec: SweepSpec, shard: Shard): Promise<ShardResult> {
    const reply = await this.request({ id: `${shard.id}#${this.next++}`, spec, shard });
    if (!("result" in reply)) throw new TlensError(`shard process: no result for shard ${shard.id}`);
    return reply.result;
  }

  close(): void {
    this.child?.disconnect();
  }
}
