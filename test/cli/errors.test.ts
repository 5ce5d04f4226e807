// describeError: how `tlens` prints a failed command (one line for user errors, the trace only when asked).
import { describe, expect, it } from "vitest";
import { describeError } from "../../src/cli/errors.js";
import { LoadError, OutputError } from "../../src/errors.js";

describe("describeError", () => {
  it("a TlensError or a system error is one line with its message; the trace only with verbose", () => {
    expect(describeError("ioi", new OutputError("--out x: cannot write there; choose a folder"), false)).toBe(
      "tlens ioi: --out x: cannot write there; choose a folder",
    );
    const sys = Object.assign(new Error("EACCES: permission denied, mkdir '/root/.cache/x'"), { code: "EACCES" });
    expect(describeError("download", sys, false)).toBe(
      "tlens download: EACCES: permission denied, mkdir '/root/.cache/x'",
    );
    const verbose = describeError("ioi", new LoadError("no model at /m"), true).split("\n");
    expect(verbose[0]).toBe("tlens ioi: no model at /m");
    expect(verbose[1]).toBe("LoadError: no model at /m");
    expect(verbose.slice(2).every((l) => /^\s+at /.test(l))).toBe(true);
  });

  it("anything else is an internal error, still one line, with how to get the trace", () => {
    const line = describeError("lab", new TypeError("x is undefined"), false);
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toBe(
      "tlens lab: x is undefined (an internal error: please report it; --verbose or TLENS_DEBUG=1 prints the stack trace)",
    );
    expect(describeError("ioi", "a string", false)).toMatch(/^tlens ioi: a string \(an internal error/);
    expect(describeError("ioi", null, false)).toMatch(/^tlens ioi: null \(an internal error/);
  });
});
