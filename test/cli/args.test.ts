// The flag parser shared by tlens download / ioi / lab.
import { describe, expect, it } from "vitest";
import { intFlag, parseFlags, stringFlag } from "../../src/cli/args.js";

describe("parseFlags", () => {
  it("reads --flag value and --flag=value, switches and positional words", () => {
    const got: Record<string, unknown> = {};
    const words: string[] = [];
    const error = parseFlags(
      ["gpt2", "--out", "dir", "--n=5", "--fast", "x=y"],
      {
        "--out": stringFlag((v) => {
          got.out = v;
        }),
        "--n": intFlag(1, Infinity, (n) => {
          got.n = n;
        }),
        "--fast": () => {
          got.fast = true;
        },
      },
      (w) => words.push(w),
    );
    expect(error).toBeNull();
    expect(got).toEqual({ out: "dir", n: 5, fast: true });
    expect(words).toEqual(["gpt2", "x=y"]);
  });

  it("says what is wrong: missing values, bad integers, unknown options, stray words", () => {
    const flags = {
      "--out": stringFlag(() => {}),
      "--port": intFlag(0, 65535, () => {}),
      "--n": intFlag(1, Infinity, () => {}),
    };
    expect(parseFlags(["--out"], flags)).toBe("--out needs a value");
    expect(parseFlags(["--port", "70000"], flags)).toBe("--port needs an integer from 0 to 65535");
    expect(parseFlags(["--n=0"], flags)).toBe("--n needs an integer ≥ 1");
    expect(parseFlags(["--n", "2.5"], flags)).toBe("--n needs an integer ≥ 1");
    expect(parseFlags(["--verbose"], flags)).toBe("unknown option --verbose");
    expect(parseFlags(["word"], flags)).toBe("unknown option word");
  });

  it("integers are plain decimal digits: exponents, hex, fractions, spaces and signs are refused", () => {
    const seen: number[] = [];
    const flags = {
      "--n": intFlag(0, Infinity, (n) => {
        seen.push(n);
      }),
      "--port": intFlag(0, 65535, (n) => {
        seen.push(n);
      }),
    };
    for (const bad of ["1e3", "0x10", "1.0", " 5", "5 ", "+5", "0b1", "0o7", "1_000", "", "Infinity", "5n", "١٢"]) {
      expect(parseFlags(["--n", bad], flags), JSON.stringify(bad)).toBe("--n needs an integer ≥ 0");
    }
    expect(parseFlags(["--n", "-0"], flags)).toBe("--n needs an integer ≥ 0");
    expect(parseFlags(["--n", "9007199254740993"], flags)).toBe("--n needs an integer ≥ 0"); // past 2^53: not exact
    expect(seen).toEqual([]);
    expect(parseFlags(["--n", "4294967295", "--port=08080", "--n", "0"], flags)).toBeNull();
    expect(seen).toEqual([4294967295, 8080, 0]);
  });
});
