// Grad mode: whether ops record themselves for backward(). The hot path of every op is needsGrad(), a single
// test that is false for every tensor unless the user asked for gradients.

let disabled = 0;

interface Flag { readonly requiresGrad: boolean }

/** True when an op on `a` (and `b`, when it is a tensor) must be recorded. */
export function needsGrad(a: Flag, b?: unknown): boolean {
  return (a.requiresGrad || (b as Partial<Flag> | undefined)?.requiresGrad === true) && disabled === 0;
}

/** Whether ops are recorded now (false inside noGrad). */
export function isGradEnabled(): boolean {
  return disabled === 0;
}

/** Runs fn without recording any op (torch.no_grad). When fn returns a promise, recording stays off until it
 *  settles — for every op in that time, not only fn's (JS has no per-task state to scope it more tightly). */
export function noGrad<T>(fn: () => T): T {
  disabled++;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    disabled--;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => { disabled--; }) as T;
  }
  disabled--;
  return result;
}
