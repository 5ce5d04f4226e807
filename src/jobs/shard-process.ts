// One shard process (pool-child.ts) driven by promises. The local pool runs one per worker; a queue worker computes
// its shards in one, so that its own event loop stays free to renew job locks while a shard runs (kernels block).
import { fork, type ChildProcess } from "node:child_process";
import { JobError, SpecError } from "./errors.js";
import type { PoolReply, PoolRequest } from "./pool-protocol.js";
import { siblingModule } from "./processes.js";
import type { Shard, ShardResult } from "./shards.js";
import type { ModelSpec, SweepSpec } from "./spec.js";

type Waiter = { resolve: (r: PoolReply) => void; reject: (e: Error) => void };

export class ShardProcess {
  private child: ChildProcess | null = null;
  private readonly waiting = new Map<string, Waiter>();
  private next = 0;

  /** `taskModules`: imported by the process first; `env`: its environment (default this one's, TLENS_NUM_THREADS
   *  included). The process starts at once, and again after it died, at the next request. */
  constructor(
    private readonly taskModules: readonly string[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.process();
  }

  /** The current process's id. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private process(): ChildProcess {
    if (this.child) return this.child;
    const { file, execArgv } = siblingModule("pool-child");
    const env = { ...this.env, TLENS_TASK_MODULES: JSON.stringify(this.taskModules) };
    const child = fork(file, [], { execArgv, env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.on("message", (m: PoolReply) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      w?.resolve(m);
    });
    child.on("exit", (code, signal) => {
      this.child = null; // the next request starts a fresh process
      for (const w of this.waiting.values())
        w.reject(new JobError(`shard process exited (${signal ?? `code ${code}`})`));
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
    if ("error" in reply) throw reply.unrecoverable ? new SpecError(reply.error) : new JobError(reply.error);
    return reply;
  }

  async load(model: ModelSpec): Promise<void> {
    await this.request({ id: `load-${this.next++}`, load: model });
  }

  async run(spec: SweepSpec, shard: Shard): Promise<ShardResult> {
    const reply = await this.request({ id: `${shard.id}#${this.next++}`, spec, shard });
    if (!("result" in reply)) throw new JobError(`shard process: no result for shard ${shard.id}`);
    return reply.result;
  }

  /** Ends the process (once it finishes the shard it is running); resolves when it has exited. */
  close(): Promise<void> {
    const c = this.child;
    if (!c) return Promise.resolve();
    return new Promise((done) => {
      c.once("exit", () => done());
      c.disconnect();
    });
  }
}
