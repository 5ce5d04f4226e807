// The autograd API and its errors: backward with and without a gradient, accumulation, retainGraph and the
// freed graph, retainGrad, detach, noGrad / isGradEnabled, no bookkeeping without requiresGrad, NaN
// gradients, and in-place writes (followed through the graph, or refused with a GradError).
import { describe, expect, it } from "vitest";
import { GradError, isGradEnabled, linalg, noGrad, noGradSync, ones, tensor, zeros } from "../../src/index.js";
import { gradcheck, normal } from "./gradcheck.js";

const f64 = (v: number[]) => tensor(v, undefined, "float64");

describe("autograd engine", () => {
  it("nothing is recorded when no input requires grad", async () => {
    const y = normal([3]).exp().sum();
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
  });

  it("backward() on a scalar; grads accumulate over calls, as torch", async () => {
    const x = f64([1, 2]).requiresGrad_();
    await x.mul(x).sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 4]);
    await x.mul(3).sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([5, 7]);
  });

  it("backward(grad) on a non-scalar; a leaf root gets the gradient itself", async () => {
    const x = f64([1, 2]).requiresGrad_();
    await x.mul(2).backward(f64([1, 10]));
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 20]);
    const leaf = f64([3]).requiresGrad_();
    await leaf.backward();
    expect(leaf.grad!.item()).toBe(1);
  });

  it("a diamond graph sums both paths; a deep chain does not overflow the stack", async () => {
    await gradcheck(
      (a) => {
        const b = a.exp();
        return b.mul(b.sin()).add(b);
      },
      [normal([3])],
    );
    const x = f64([0.5]).requiresGrad_();
    let y = x;
    for (let i = 0; i < 20000; i++) y = y.add(1);
    await y.sum().backward();
    expect(x.grad!.item()).toBe(1);
  });

  it("errors: non-scalar without a gradient, wrong gradient shape, NaN gradient argument, no grad at all", async () => {
    const x = f64([1, 2]).requiresGrad_();
    await expect(x.mul(2).backward()).rejects.toThrow(GradError);
    await expect(x.mul(2).backward()).rejects.toThrow(/one-element output.*\[2\]/);
    await expect(x.mul(2).backward(f64([1, 2, 3]))).rejects.toThrow(
      /gradient has shape \[3\] but the output has shape \[2\]/,
    );
    await expect(x.mul(2).backward(f64([1, NaN]))).rejects.toThrow(/contains NaN/);
    await expect(f64([1]).sum().backward()).rejects.toThrow(/does not require grad/);
  });

  it("a second backward through a freed graph fails; retainGraph keeps it", async () => {
    const x = f64([1, 2]).requiresGrad_();
    const y = x.exp().sum();
    await y.backward();
    await expect(y.backward()).rejects.toThrow(/already freed.*retainGraph/);
    const z = x.exp().sum();
    x.grad = null;
    await z.backward(undefined, { retainGraph: true });
    await z.backward();
    expect(x.grad!.dataSync()[0]).toBeCloseTo(2 * Math.E, 12);
  });

  it("a NaN gradient names the op that produced it", async () => {
    const x = f64([-1, 4]).requiresGrad_();
    await expect(x.sqrt().sum().backward()).rejects.toThrow(/NaN in the gradient that sqrt #\d+ \(output \[2\]\)/);
  });

  it("retainGrad keeps a non-leaf's gradient; detach cuts the graph", async () => {
    const x = f64([1, 2]).requiresGrad_();
    const h = x.mul(3).retainGrad();
    await h.mul(h).sum().backward();
    expect(Array.from(h.grad!.dataSync())).toEqual([6, 12]);
    expect(Array.from(x.grad!.dataSync())).toEqual([18, 36]);
    const d = x.mul(2).detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    // gradcheck sees through a detach: the analytic gradient misses the detached path and must fail
    await expect(gradcheck((a) => a.mul(a.detach()), [normal([3])])).rejects.toThrow(/gradcheck failed/);
  });

  it("noGrad turns recording off, also across an async function; noGradSync; isGradEnabled tells", async () => {
    const x = f64([1]).requiresGrad_();
    expect(isGradEnabled()).toBe(true);
    const y = noGradSync(() => {
      expect(isGradEnabled()).toBe(false);
      return x.mul(2);
    });
    expect(y.requiresGrad).toBe(false);
    const z = await noGrad(async () => {
      await Promise.resolve();
      return x.mul(2);
    });
    expect(z.requiresGrad).toBe(false);
    expect(isGradEnabled()).toBe(true);
    expect(() =>
      noGradSync(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    await expect(
      noGrad(() => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(isGradEnabled()).toBe(true);
  });

  it("gradient hooks: see the summed gradient once, may replace it, may be async; removable; wrong shapes refused", async () => {
    const x = f64([1, 2]).requiresGrad_();
    const h = x.mul(3);
    const seen: number[][] = [];
    const handle = h.registerHook((g) => {
      seen.push(Array.from(g.dataSync()));
      return g.mul(10);
    });
    h.registerHook(async (g) => {
      await Promise.resolve();
      seen.push(Array.from(g.dataSync()));
    });
    await h.add(h).sum().backward(); // two uses of h: the hook sees their sum, once
    expect(seen).toEqual([
      [2, 2],
      [20, 20],
    ]);
    expect(Array.from(x.grad!.dataSync())).toEqual([60, 60]);
    const onLeaf: number[][] = [];
    x.registerHook((g) => {
      onLeaf.push(Array.from(g.dataSync()));
    });
    handle.remove();
    x.grad = null;
    const h2 = x.mul(3);
    await h2.sum().backward();
    expect(onLeaf).toEqual([[3, 3]]);
    const h3 = x.mul(1);
    h3.registerHook(() => f64([1, 2, 3]));
    await expect(h3.sum().backward()).rejects.toThrow(
      /hook on the output of mul #\d+ returned a \[3\] gradient; the gradient there has shape \[2\]/,
    );
    expect(() => f64([1]).registerHook(() => undefined)).toThrow(/does not require grad/);
  });

  it("requiresGrad_ only on float tensors; requiresGrad_(false) only on leaves", async () => {
    expect(() => tensor([1, 2], undefined, "int32").requiresGrad_()).toThrow(/only float tensors/);
    const x = f64([1]).requiresGrad_();
    expect(() => x.mul(2).requiresGrad_(false)).toThrow(/only leaves/);
    expect(x.requiresGrad_(false).requiresGrad).toBe(false);
  });
});

describe("autograd: in-place writes", () => {
  it("add_/mul_/set/copy_ on a non-leaf are followed through the graph", async () => {
    await gradcheck(
      (a, b) => {
        const h = a.mul(2);
        h.mul_(b);
        h.add_(1);
        h.div_(b.exp());
        return h.square();
      },
      [normal([3], 1), normal([3], 2)],
    );
    await gradcheck(
      (a, b) => {
        const h = a.mul(2);
        h.set([1], b.get(0));
        return h.exp();
      },
      [normal([3], 3), normal([2], 4)],
    );
    await gradcheck(
      (a) => {
        const buf = zeros([2, 3], "float64");
        buf.set([0], a);
        buf.set([1, "1:"], a.get("0:2"));
        return buf.exp();
      },
      [normal([3], 5)],
    );
    await gradcheck(
      (a) => {
        const h = a.sin();
        h.set([h.detach().gt(0)], 0);
        return h.mul(a);
      },
      [normal([4], 6)],
    );
  });

  it("writes through views (index, narrow, permute, reshape, views of views) reach the viewed tensor's history", async () => {
    await gradcheck(
      (a) => {
        const h = a.mul(2);
        h.get(0).mul_(3);
        return h.exp();
      },
      [normal([3, 2], 7)],
    );
    await gradcheck(
      (a, b) => {
        const h = a.mul(3);
        h.narrow(0, 1, 2).add_(b);
        return h.square();
      },
      [normal([3, 2], 8), normal([2], 9)],
    );
    await gradcheck(
      (a) => {
        const h = a.sin();
        h.mT.get(1).set([":"], h.get(":", 0));
        return h.mul(a);
      },
      [normal([3, 2], 10)],
    );
    await gradcheck(
      (a, b) => {
        const h = a.add(1);
        h.reshape(6).get("1:4").mul_(b);
        return h.square();
      },
      [normal([2, 3], 11), normal([3], 12)],
    );
    await gradcheck(
      (a) => {
        const h = a.mul(1);
        const v = h.get(1);
        v.get(0).mul_(5);
        return v.add(h.sum());
      },
      [normal([2, 3], 13)],
    );
    // a hook-style ablation: z[:, :, 1] = 0 on an activation
    await gradcheck(
      (a) => {
        const z = a.mul(2).reshape(2, 2, 3);
        z.set([":", ":", 1], 0);
        return z.exp();
      },
      [normal([4, 3], 14)],
    );
  });

  it("refused: into a leaf (or a view of one) that requires grad, into an expanded view", async () => {
    const x = f64([1, 2]).requiresGrad_();
    expect(() => x.add_(1)).toThrow(/in-place write into a leaf/);
    expect(() => x.set([0], 5)).toThrow(GradError);
    expect(() => x.get(0).mul_(3)).toThrow(/view .* of a leaf tensor that requires grad/);
    noGradSync(() => x.add_(1)); // allowed without recording (an optimizer step)
    expect(Array.from(x.dataSync())).toEqual([2, 3]);
    expect(() => x.mul(2).expand(3, 2).mul_(2)).toThrow(/elements repeat/);
  });

  it("a view taken before a write through a sibling view sees the new history", async () => {
    await gradcheck(
      (a) => {
        const h = a.mul(2);
        const v0 = h.get(":", 0);
        h.get(0).mul_(3);
        return v0.exp();
      },
      [normal([2, 2], 15)],
    );
  });

  it("a tensor saved for backward and overwritten afterwards: backward fails instead of a wrong gradient", async () => {
    const x = f64([1, 2]).requiresGrad_();
    const e = x.exp();
    e.mul_(2); // exp's backward reads its output
    await expect(e.sum().backward()).rejects.toThrow(/exp #\d+ saved for backward was modified in place/);
    const w = f64([3, 4]);
    const y = x.mul(w).sum();
    w.mul_(10);
    await expect(y.backward()).rejects.toThrow(/saved for backward was modified in place/);
  });

  it("a graph tensor changed behind autograd's back (through a view, under noGrad) is refused as an input", async () => {
    const x = f64([1, 2]).requiresGrad_();
    const h = x.mul(2);
    noGradSync(() => h.add_(1));
    expect(() => h.exp()).toThrow(/modified in place outside autograd/);
  });

  it("ones-like seeds keep the root's dtype", async () => {
    const x = ones([2], "float32").requiresGrad_();
    await x.mul(3).sum().backward();
    expect(x.grad!.dtype).toBe("float32");
  });
});

describe("autograd: ops outside the tape", () => {
  it("linalg refuses an input that requires grad instead of dropping its gradient", () => {
    const m = normal([3, 3]).requiresGrad_();
    expect(() => linalg.svd(m)).toThrow(/linalg.svd is not differentiable/);
    expect(linalg.svd(m.detach()).S.shape).toEqual([3]);
  });
});
