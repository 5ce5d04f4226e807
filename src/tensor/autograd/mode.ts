// Grad mode: whether ops record themselves for backward(). The hot path of every op is needsGrad(), a single
// test that is false for every tensor unless the user asked for gradients.

let disabled = 0;

interface Flag {
  readonly requiresGrad: boolean;
}

/** True when an op on `a` (and `b`, when it is a tensor) must be recorded. */
export function needsGrad(a: Flag, b?: unknown): boolean {
  return (a.requiresGrad || (b as Partial<Flag> | undefined)?.requiresGrad === true) && disabled === 0;
}

/** Whether ops are recorded now (false inside noGrad). */
export function isGradEnabled(): boolean {
  return disabled === 0;
}

/** Runs fn without recording any op (torch.no_grad); fn may be async. Recording stays off until fn's promise
 *  settles — for every op in that time, not only fn's (JS has no per-task state to scope it more tightly). */
export async function noGrad<T>(fn: () => T | Promise<T>): Promise<T> {
  disabled++;
  try {
    return await fn();
  } finally {
    disabled--;
  }
}

/** noGrad for synchronous code: returns fn's result directly. */
export function noGradSync<T>(fn: () => T): T {
  disabled++;
  try {
    return fn();
  } finally {
    disabled--;
  }
}
