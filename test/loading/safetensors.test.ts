import { readFileSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LoadError } from "../../src/errors.js";
import {
  bfloat16Bits,
  decodeBfloat16,
  decodeFloat16,
  float16Bits,
  readSafetensors,
  readSafetensorsFile,
  writeSafetensors,
} from "../../src/loading/index.js";
import { tensor, Tensor } from "../../src/tensor/index.js";
import { buildFile, shared } from "./util.js";

/** Independent float16 reference (plain arithmetic). */
function refF16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * Math.pow(2, -24);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * Math.pow(2, e - 15);
}

const same = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

function entryFile(dtype: string, shape: number[], payload: Uint8Array): Uint8Array {
  return buildFile(JSON.stringify({ t: { dtype, shape, data_offsets: [0, payload.length] } }), payload);
}

const u16 = (xs: number[]): Uint8Array => {
  const b = new Uint8Array(xs.length * 2);
  const dv = new DataView(b.buffer);
  xs.forEach((x, i) => dv.setUint16(2 * i, x, true));
  return b;
};

function expectLoadError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, "should throw").toBeInstanceOf(LoadError);
  for (const p of parts) expect((err as Error).message).toMatch(p);
}

describe("float16 / bfloat16 decoding", () => {
  it("decodes hand-made F16 bit patterns exactly (zeros, subnormals, normals, max, inf, nan)", () => {
    const cases: [number, number][] = [
      [0x0000, 0],
      [0x8000, -0],
      [0x0001, 2 ** -24],
      [0x8001, -(2 ** -24)],
      [0x03ff, 1023 * 2 ** -24],
      [0x0400, 2 ** -14],
      [0x3c00, 1],
      [0xbc00, -1],
      [0xc000, -2],
      [0x3555, 0.333251953125],
      [0x3bff, 0.99951171875],
      [0x3c01, 1 + 2 ** -10],
      [0x7bff, 65504],
      [0xfbff, -65504],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
      [0x7e00, NaN],
      [0x7c01, NaN],
      [0xfe00, NaN],
    ];
    const f = readSafetensors(entryFile("F16", [cases.length], u16(cases.map((c) => c[0]))), "f16.safetensors");
    const got = f.tensors.get("t")!;
    expect(got.dtype).toBe("float32");
    expect(f.dtypes.get("t")).toBe("F16");
    const data = got.dataSync();
    cases.forEach(([, v], i) =>
      expect(same(data[i]!, v), `0x${cases[i]![0].toString(16)} → ${data[i]}, want ${v}`).toBe(true),
    );
  });

  it("decodes all 65536 F16 patterns like an independent reference, and re-encodes them bit for bit", () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const dec = decodeFloat16(bits);
    for (let h = 0; h < 65536; h++) {
      if (!same(dec[h]!, refF16(h))) throw new Error(`0x${h.toString(16)}: ${dec[h]} vs ${refF16(h)}`);
      const e = (h >> 10) & 0x1f,
        m = h & 0x3ff;
      if (!(e === 31 && m !== 0) && float16Bits(dec[h]!) !== h) throw new Error(`re-encode 0x${h.toString(16)}`);
    }
    // NaN payloads survive into float32
    const u = new Uint32Array(decodeFloat16(new Uint16Array([0x7c01, 0xfe00])).buffer);
    expect(u[0]).toBe(0x7f802000);
    expect(u[1]).toBe(0xffc00000);
  });

  it("encodes float16 with round-to-nearest-even, overflow to inf and gradual underflow", () => {
    expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(float16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    expect(float16Bits(65519)).toBe(0x7bff);
    expect(float16Bits(65520)).toBe(0x7c00);
    expect(float16Bits(-1e10)).toBe(0xfc00);
    expect(float16Bits(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal → 0
    expect(float16Bits(2 ** -25 * 1.5)).toBe(0x0001);
    expect(float16Bits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 units → 2
    expect(float16Bits(-0)).toBe(0x8000);
    expect(float16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float16Bits(NaN) & 0x3ff).not.toBe(0);
    expect(float16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up from the largest subnormal into the normals
  });

  it("decodes BF16 exactly: every pattern is the top half of a float32", () => {
    const cases: [number, number][] = [
      [0x0000, 0],
      [0x8000, -0],
      [0x3f80, 1],
      [0xc000, -2],
      [0x3eaa, 0.33203125],
      [0x0001, 2 ** -133],
      [0x0080, 2 ** -126],
      [0x7f7f, 3.3895313892515355e38],
      [0x7f80, Infinity],
      [0xff80, -Infinity],
      [0x7fc0, NaN],
    ];
    const t = readSafetensors(entryFile("BF16", [cases.length], u16(cases.map((c) => c[0]))), "bf16").tensors.get("t")!;
    const data = t.dataSync();
    cases.forEach(([, v], i) => expect(same(data[i]!, v), `0x${cases[i]![0].toString(16)}`).toBe(true));
    const all = decodeBfloat16(new Uint16Array(65536).map((_, i) => i));
    const u = new Uint32Array(all.buffer);
    for (let h = 0; h < 65536; h++) if (u[h] !== (h << 16) >>> 0) throw new Error(`bf16 0x${h.toString(16)}`);
    expect(bfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(bfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(bfloat16Bits(NaN) & 0x7f80).toBe(0x7f80);
  });
});

describe("readSafetensors: dtypes", () => {
  it("reads F64 as float32 by default and keeps float64 when asked", () => {
    const vals = [1 / 3, -2.5, 1e300, 5e-324];
    const b = new Uint8Array(32);
    vals.forEach((v, i) => new DataView(b.buffer).setFloat64(8 * i, v, true));
    const file = entryFile("F64", [2, 2], b);
    const f32 = readSafetensors(file, "f64").tensors.get("t")!;
    expect(f32.dtype).toBe("float32");
    expect(Array.from(f32.dataSync())).toEqual(Array.from(new Float32Array(vals)));
    const f64 = readSafetensors(file, "f64", { keepFloat64: true }).tensors.get("t")!;
    expect(f64.dtype).toBe("float64");
    expect(f64.shape).toEqual([2, 2]);
    expect(Array.from(f64.dataSync())).toEqual(vals);
  });

  it("reads I64 within int32 as int32 and refuses values outside it, naming the tensor and the value", () => {
    const b = new Uint8Array(24);
    const dv = new DataView(b.buffer);
    dv.setBigInt64(0, -2147483648n, true);
    dv.setBigInt64(8, 2147483647n, true);
    dv.setBigInt64(16, -1n, true);
    const t = readSafetensors(entryFile("I64", [3], b), "ints").tensors.get("t")!;
    expect(t.dtype).toBe("int32");
    expect(Array.from(t.dataSync())).toEqual([-2147483648, 2147483647, -1]);
    for (const bad of [2147483648n, -2147483649n, 1n << 40n, -(1n << 62n)]) {
      dv.setBigInt64(8, bad, true);
      expectLoadError(
        () => readSafetensors(entryFile("I64", [3], b), "ints.safetensors"),
        "ints.safetensors",
        `"t"`,
        String(bad),
        /int32/,
      );
    }
  });

  it("reads I32, I16, I8, U16, U8, U32 as int32 and BOOL as bool", () => {
    const mk = (dtype: string, bytes: number[]) =>
      readSafetensors(
        entryFile(
          dtype,
          [bytes.length / ({ I32: 4, U32: 4, I16: 2, U16: 2 } as Record<string, number>)[dtype]! || bytes.length],
          new Uint8Array(bytes),
        ),
        "x",
      ).tensors.get("t")!;
    expect(Array.from(mk("I32", [0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0]).dataSync())).toEqual([-1, 5]);
    expect(Array.from(mk("I16", [0xff, 0xff, 5, 0]).dataSync())).toEqual([-1, 5]);
    expect(Array.from(mk("U16", [0xff, 0xff, 5, 0]).dataSync())).toEqual([65535, 5]);
    expect(Array.from(mk("I8", [0xff, 5]).dataSync())).toEqual([-1, 5]);
    expect(Array.from(mk("U8", [0xff, 5]).dataSync())).toEqual([255, 5]);
    expect(Array.from(mk("U32", [0xff, 0xff, 0xff, 0x7f]).dataSync())).toEqual([2147483647]);
    expectLoadError(() => mk("U32", [0, 0, 0, 0x80]), /does not fit in int32/);
    const b = mk("BOOL", [0, 1, 1]);
    expect(b.dtype).toBe("bool");
    expect(b.toArray()).toEqual([false, true, true]);
    expectLoadError(() => mk("BOOL", [0, 2]), /BOOL value 2/);
  });

  it("refuses unsupported and unknown dtypes by name", () => {
    expectLoadError(
      () => readSafetensors(entryFile("F8_E4M3", [2], new Uint8Array(2)), "f8.st"),
      "f8.st",
      `"t"`,
      /F8_E4M3 is not supported/,
    );
    expectLoadError(
      () => readSafetensors(entryFile("float32", [1], new Uint8Array(4)), "x"),
      /unknown dtype "float32"/,
    );
    expectLoadError(() => readSafetensors(entryFile("U64", [1], new Uint8Array(8)), "x"), /U64 is not supported/);
  });

  it("handles scalars, empty tensors and unaligned data offsets", () => {
    const data = new Uint8Array(1 + 4 + 8);
    const dv = new DataView(data.buffer);
    dv.setFloat32(1, 3.5, true);
    dv.setFloat64(5, -7.25, true);
    const header = JSON.stringify({
      __metadata__: { format: "pt", note: "hi" },
      scalar: { dtype: "F32", shape: [], data_offsets: [1, 5] },
      vec: { dtype: "F64", shape: [1], data_offsets: [5, 13] },
      empty: { dtype: "F32", shape: [0, 3], data_offsets: [13, 13] },
      empty2: { dtype: "I64", shape: [4, 0], data_offsets: [2, 2] }, // empty tensors occupy no bytes
    });
    const f = readSafetensors(buildFile(header + "   ", data), "mix");
    expect(f.metadata).toEqual({ format: "pt", note: "hi" });
    expect(f.tensors.get("scalar")!.shape).toEqual([]);
    expect(f.tensors.get("scalar")!.item()).toBe(3.5);
    expect(f.tensors.get("vec")!.item()).toBe(-7.25);
    expect(f.tensors.get("empty")!.shape).toEqual([0, 3]);
    expect(f.tensors.get("empty2")!.shape).toEqual([4, 0]);
    expect([...f.tensors.keys()]).toEqual(["scalar", "empty2", "vec", "empty"]); // file order (by data offset)
  });

  it("allows holes between tensors (trailing bytes only when asked), and returns tensors that own their memory", () => {
    const data = new Uint8Array(40).fill(7);
    const header = JSON.stringify({
      b: { dtype: "F32", shape: [2], data_offsets: [24, 32] },
      a: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
    });
    expect(() => readSafetensors(buildFile(header, data), "holes")).toThrow(
      /holes: 8 bytes after the end of the last tensor/,
    );
    expect(readSafetensors(buildFile(header, data.subarray(0, 32)), "holes").tensors.size).toBe(2);
    const file = buildFile(header, data);
    const f = readSafetensors(file, "holes", { allowTrailingBytes: true });
    expect(f.tensors.get("a")!.shape).toEqual([2]);
    file.fill(0);
    expect(f.tensors.get("a")!.dataSync()[0]).not.toBe(0); // copied, not a view of the file
  });
});

describe("readSafetensors: errors name the file, the tensor and the problem", () => {
  const ok = { w: { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] } };
  const data = new Uint8Array(24);
  const hdr = (h: unknown) => buildFile(JSON.stringify(h), data);
  it("header length", () => {
    expectLoadError(() => readSafetensors(new Uint8Array(5), "short.st"), "short.st", /shorter than the 8-byte/);
    expectLoadError(
      () => readSafetensors(buildFile("{}", data, 1n << 40n), "big.st"),
      "big.st",
      /exceeds the 100000000-byte limit/,
    );
    expectLoadError(() => readSafetensors(buildFile("{}", data, 200_000_000n), "big.st"), /exceeds/);
    expectLoadError(
      () => readSafetensors(buildFile("{}", data, 1000n), "lie.st"),
      "lie.st",
      /runs past the end of the file/,
    );
    expectLoadError(() => readSafetensors(buildFile("{}", data, 0n), "z.st"), /too small/);
    expectLoadError(() => readSafetensors(buildFile("{}", data, 1n), "z.st"), /too small/);
    expect(readSafetensors(buildFile("{}", new Uint8Array(0)), "empty").tensors.size).toBe(0);
  });
  it("JSON", () => {
    expectLoadError(() => readSafetensors(buildFile(`{"w": {"dtype": "F32"`, data), "t.st"), "t.st", /not valid JSON/);
    expectLoadError(
      () => readSafetensors(buildFile(new Uint8Array([0x7b, 0xff, 0x7d]), data), "u.st"),
      /not valid UTF-8/,
    );
    expectLoadError(() => readSafetensors(buildFile(`[1, 2]`, data), "a.st"), /does not start with "{"/);
    expectLoadError(() => readSafetensors(buildFile(`  {}`, data), "a.st"), /does not start with "{"/);
    expectLoadError(() => readSafetensors(buildFile(`{} x`, data), "a.st"), /not valid JSON/);
    expectLoadError(() => readSafetensors(hdr({ __metadata__: "x", ...ok }), "m.st"), /__metadata__ must be an object/);
    expectLoadError(
      () => readSafetensors(hdr({ __metadata__: { a: 1 }, ...ok }), "m.st"),
      /__metadata__\["a"\] must be a string/,
    );
    expectLoadError(() => readSafetensors(hdr({ w: [1, 2] }), "e.st"), `tensor "w"`, /must be an object/);
  });
  it("dtype, shape, offsets", () => {
    expectLoadError(
      () => readSafetensors(hdr({ w: { ...ok.w, dtype: 4 } }), "d.st"),
      "d.st",
      `tensor "w"`,
      /dtype must be a string/,
    );
    expectLoadError(
      () => readSafetensors(hdr({ w: { ...ok.w, dtype: "F16" } }), "d.st"),
      `tensor "w"`,
      /hold 24 bytes but shape \[2,3\] of F16 needs 12 bytes/,
    );
    expectLoadError(
      () => readSafetensors(hdr({ w: { ...ok.w, shape: [2, -3] } }), "s.st"),
      `tensor "w"`,
      /invalid dimension -3/,
    );
    expectLoadError(() => readSafetensors(hdr({ w: { ...ok.w, shape: [2, 1.5] } }), "s.st"), /invalid dimension 1.5/);
    expectLoadError(() => readSafetensors(hdr({ w: { ...ok.w, shape: "2,3" } }), "s.st"), /shape must be an array/);
    expectLoadError(
      () => readSafetensors(hdr({ w: { ...ok.w, shape: [2 ** 40, 2 ** 40, 2 ** 40] } }), "s.st"),
      /more than the whole file/,
    );
    expectLoadError(
      () => readSafetensors(hdr({ w: { ...ok.w, data_offsets: [24, 0] } }), "o.st"),
      `tensor "w"`,
      /reversed/,
    );
    expectLoadError(
      () => readSafetensors(hdr({ w: { ...ok.w, data_offsets: [8, 32] } }), "o.st"),
      /run past the end of the data section \(24 bytes\)/,
    );
    expectLoadError(
      () => readSafetensors(hdr({ w: { ...ok.w, data_offsets: [0] } }), "o.st"),
      /data_offsets must be \[begin, end\]/,
    );
    expectLoadError(
      () => readSafetensors(hdr({ w: { ...ok.w, data_offsets: [0.5, 24.5] } }), "o.st"),
      /data_offsets must be/,
    );
    expectLoadError(
      () => readSafetensors(hdr({ w: { dtype: "F32", shape: [2, 3] } }), "o.st"),
      `tensor "w"`,
      /"data_offsets" is missing/,
    );
    expectLoadError(
      () =>
        readSafetensors(
          hdr({
            a: { dtype: "F32", shape: [4], data_offsets: [0, 16] },
            b: { dtype: "F32", shape: [3], data_offsets: [12, 24] },
          }),
          "ov.st",
        ),
      "ov.st",
      `"a"`,
      `"b"`,
      /overlap/,
    );
  });
});

describe("writeSafetensors", () => {
  it("round-trips F32, F64, I32 and BOOL tensors with metadata", () => {
    const tensors = {
      "blocks.0.attn.W_Q": tensor([
        [
          [1.5, -2],
          [3, 4e-30],
        ],
      ]),
      "x/y": Tensor.fromTypedArray(new Float64Array([Math.PI, -0, Infinity]), [3]),
      ids: tensor([[1, -2, 3]], undefined, "int32"),
      mask: tensor([true, false]),
      empty: Tensor.empty([0, 4]),
      s: tensor(2.5),
    };
    const bytes = writeSafetensors(tensors, { format: "pt" });
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const back = readSafetensors(bytes, "rt", { keepFloat64: true });
    expect(back.metadata).toEqual({ format: "pt" });
    expect([...back.dtypes.entries()]).toEqual([
      ["blocks.0.attn.W_Q", "F32"],
      ["x/y", "F64"],
      ["ids", "I32"],
      ["mask", "BOOL"],
      ["empty", "F32"],
      ["s", "F32"],
    ]);
    for (const [k, t] of Object.entries(tensors)) {
      const b = back.tensors.get(k)!;
      expect(b.shape).toEqual(t.shape);
      expect(b.dtype).toBe(t.dtype);
      expect(b.toArray()).toEqual(t.toArray());
    }
  });

  it("writes F16 and BF16 (rounded to nearest even), readable exactly", () => {
    const vals = [0, 1, -2.5, 1 / 3, 65504, 1e6, 2 ** -24, 1e-9, NaN, -Infinity];
    const t = tensor(vals);
    const f16 = readSafetensors(writeSafetensors({ t }, undefined, { floatDtype: "F16" }), "f16");
    expect(f16.dtypes.get("t")).toBe("F16");
    const want16 = decodeFloat16(new Uint16Array(vals.map(float16Bits)));
    f16.tensors
      .get("t")!
      .dataSync()
      .forEach((v, i) => expect(same(v, want16[i]!)).toBe(true));
    expect(f16.tensors.get("t")!.dataSync()[3]).toBe(0.333251953125);
    const bf = readSafetensors(writeSafetensors({ t }, undefined, { floatDtype: "BF16" }), "bf16");
    expect(bf.dtypes.get("t")).toBe("BF16");
    expect(bf.tensors.get("t")!.dataSync()[3]).toBe(0.333984375);
  });

  it("reads non-contiguous views correctly", () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]).transpose(0, 1);
    const back = readSafetensors(writeSafetensors({ t }), "v").tensors.get("t")!;
    expect(back.toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });
});

describe("real files", () => {
  it("reads the golden HF file: F32, `transformer.` names, metadata", () => {
    const f = readSafetensors(readFileSync(shared("golden/tl/model.safetensors")), "model.safetensors");
    expect(f.metadata).toEqual({ format: "pt" });
    expect(f.tensors.get("transformer.wte.weight")!.shape).toEqual([1000, 64]);
    expect(f.tensors.get("transformer.h.2.attn.c_attn.weight")!.shape).toEqual([64, 192]);
    expect(f.tensors.has("lm_head.weight")).toBe(false);
    expect([...f.dtypes.values()].every((d) => d === "F32")).toBe(true);
  });

  it("reads golden I64 inputs as int32", () => {
    const f = readSafetensors(readFileSync(shared("golden/tl/inputs.safetensors")), "inputs.safetensors");
    const t = f.tensors.get("tokens")!;
    expect(t.dtype).toBe("int32");
    expect(t.shape).toEqual([2, 12]);
    expect(f.dtypes.get("tokens")).toBe("I64");
    expect(t.dataSync()[0]).toBe(999);
  });

  it("readSafetensorsFile gives the same tensors as reading the bytes, and names the path in errors", async () => {
    const path = shared("golden/tl/model.safetensors");
    const a = readSafetensors(readFileSync(path), path);
    const b = await readSafetensorsFile(path);
    expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()]);
    for (const [k, t] of a.tensors) expect(Array.from(b.tensors.get(k)!.dataSync())).toEqual(Array.from(t.dataSync()));
    const dir = mkdtempSync(join(tmpdir(), "tlens-st-"));
    try {
      const bad = join(dir, "truncated.safetensors");
      writeFileSync(bad, readFileSync(path).subarray(0, 5000));
      await expect(readSafetensorsFile(bad)).rejects.toThrow(LoadError);
      await expect(readSafetensorsFile(bad)).rejects.toThrow(
        /truncated\.safetensors: tensor ".*": data_offsets .* run past the end/,
      );
      await expect(readSafetensorsFile(join(dir, "nope.safetensors"))).rejects.toThrow(
        /nope\.safetensors: cannot open/,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
