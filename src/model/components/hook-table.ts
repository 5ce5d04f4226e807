// One table per component: its rows, in the order the forward reaches them, create the hook points and give both
// TL orders — forward order (hook_names as they fire) and module order (hook_dict / named_modules order).
import { HookError } from "../../errors.js";
import { HookPoint } from "../hook-point.js";

/** A component's hook points in both orders. */
export interface HookOrders {
  readonly forwardOrder: readonly HookPoint[];
  readonly moduleOrder: readonly HookPoint[];
}

/** A row: one of the component's own hook points (`hook`, named under the component's prefix) or a child
 *  component's (null when the child is absent), with its rank in TL's module order. Rows with `present: false`
 *  (hooks a config does not create) are left out. */
export type HookRow<K extends string> =
  { hook: K; module: number; present?: boolean } | { child: HookOrders | null; module: number };

export class HookTable<K extends string> implements HookOrders {
  readonly forwardOrder: readonly HookPoint[];
  readonly moduleOrder: readonly HookPoint[];
  private readonly own = new Map<K, HookPoint>();

  constructor(prefix: string, rows: readonly HookRow<K>[]) {
    const kept = rows.filter((r) => ("hook" in r ? r.present !== false : r.child !== null));
    const points = (r: HookRow<K>): readonly HookPoint[] => {
      if (!("hook" in r)) return r.child!.forwardOrder;
      let p = this.own.get(r.hook);
      if (!p) this.own.set(r.hook, (p = new HookPoint(prefix ? `${prefix}.${r.hook}` : r.hook)));
      return [p];
    };
    this.forwardOrder = kept.flatMap(points);
    this.moduleOrder = [...kept]
      .sort((a, b) => a.module - b.module)
      .flatMap((r) => ("hook" in r ? points(r) : r.child!.moduleOrder));
  }

  /** The component's own hook point `key` (it must be present). */
  get(key: K): HookPoint {
    const p = this.own.get(key);
    if (!p) throw new HookError(`no hook point ${key} in this component`);
    return p;
  }
}
