// The MLP: hook_pre = x W_in + b_in, hook_post = act(pre), out = post W_out + b_out.
import { ConfigError } from "../../errors.js";
import { Tensor, zeros } from "../../tensor/index.js";
import { HookPoint } from "../hook-point.js";
import type { RunContext } from "../run/context.js";

const ACTIVATIONS: Record<string, (x: Tensor) => Tensor> = {
  gelu_new: (x) => x.geluNew(),
  gelu_fast: (x) => x.geluNew(),
  gelu: (x) => x.gelu(),
  // torch's gelu(approximate="tanh"): the same formula as gelu_new
  gelu_pytorch_tanh: (x) => x.geluNew(),
  relu: (x) => x.relu(),
  silu: (x) => x.silu(),
};

export function activation(name: string): (x: Tensor) => Tensor {
  const f = ACTIVATIONS[name];
  if (!f) throw new ConfigError(`unsupported act_fn "${name}" (supported: ${Object.keys(ACTIVATIONS).join(", ")})`);
  return f;
}

export class MLP {
  readonly hookPre: HookPoint;
  readonly hookPost: HookPoint;
  /** [d_model, d_mlp] */
  W_in: Tensor;
  /** [d_mlp] */
  b_in: Tensor;
  /** [d_mlp, d_model] */
  W_out: Tensor;
  /** [d_model] */
  b_out: Tensor;
  private readonly act: (x: Tensor) => Tensor;

  constructor(prefix: string, dModel: number, dMlp: number, actFn: string) {
    this.hookPre = new HookPoint(`${prefix}.hook_pre`);
    this.hookPost = new HookPoint(`${prefix}.hook_post`);
    this.W_in = zeros([dModel, dMlp]);
    this.b_in = zeros([dMlp]);
    this.W_out = zeros([dMlp, dModel]);
    this.b_out = zeros([dModel]);
    this.act = activation(actFn);
  }

  get hookPoints(): HookPoint[] {
    return [this.hookPre, this.hookPost];
  }
  params(): [string, Tensor][] {
    return [
      ["W_in", this.W_in],
      ["b_in", this.b_in],
      ["W_out", this.W_out],
      ["b_out", this.b_out],
    ];
  }

  /** [batch, pos, d_model] → [batch, pos, d_model] */
  async forward(x: Tensor, ctx: RunContext): Promise<Tensor> {
    const mm = { precision: ctx.matmulPrecision };
    const pre = await this.hookPre.run(x.matmul(this.W_in, mm).add_(this.b_in), ctx);
    const post = await this.hookPost.run(this.act(pre), ctx);
    return post.matmul(this.W_out, mm).add_(this.b_out);
  }
}

/** TL's GatedMLP (SwiGLU for act_fn "silu"): hook_pre = x W_gate, hook_pre_linear = x W_in,
 *  hook_post = act(pre) * pre_linear + b_in, out = post W_out + b_out. */
export class GatedMLP {
  readonly hookPre: HookPoint;
  readonly hookPreLinear: HookPoint;
  readonly hookPost: HookPoint;
  /** [d_model, d_mlp] */
  W_in: Tensor;
  /** [d_model, d_mlp] */
  W_gate: Tensor;
  /** [d_mlp, d_model] */
  W_out: Tensor;
  /** [d_mlp] */
  b_in: Tensor;
  /** [d_model] */
  b_out: Tensor;
  private readonly act: (x: Tensor) => Tensor;

  constructor(prefix: string, dModel: number, dMlp: number, actFn: string) {
    this.hookPre = new HookPoint(`${prefix}.hook_pre`);
    this.hookPreLinear = new HookPoint(`${prefix}.hook_pre_linear`);
    this.hookPost = new HookPoint(`${prefix}.hook_post`);
    this.W_in = zeros([dModel, dMlp]);
    this.W_gate = zeros([dModel, dMlp]);
    this.W_out = zeros([dMlp, dModel]);
    this.b_in = zeros([dMlp]);
    this.b_out = zeros([dModel]);
    this.act = activation(actFn);
  }

  /** Module order, which is also the order they fire. */
  get hookPoints(): HookPoint[] {
    return [this.hookPre, this.hookPreLinear, this.hookPost];
  }
  params(): [string, Tensor][] {
    return [
      ["W_in", this.W_in],
      ["W_gate", this.W_gate],
      ["W_out", this.W_out],
      ["b_in", this.b_in],
      ["b_out", this.b_out],
    ];
  }

  /** [batch, pos, d_model] → [batch, pos, d_model] */
  async forward(x: Tensor, ctx: RunContext): Promise<Tensor> {
    const mm = { precision: ctx.matmulPrecision };
    const pre = await this.hookPre.run(x.matmul(this.W_gate, mm), ctx);
    const preLinear = await this.hookPreLinear.run(x.matmul(this.W_in, mm), ctx);
    const post = await this.hookPost.run(this.act(pre).mul(preLinear).add_(this.b_in), ctx);
    return post.matmul(this.W_out, mm).add_(this.b_out);
  }
}
