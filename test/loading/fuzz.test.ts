// Hardening: seeded fuzzing of the safetensors reader and the HF config mapping with structurally broken inputs.
// Every broken input must give a LoadError (never a RangeError/TypeError/crash, never a hang); payload-only
// mutations of valid files must still load.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LoadError } from "../../src/errors.js";
import { hfConfigToTL, readSafetensors, readSafetensorsFile } from "../../src/loading/index.js";
import { buildFile, rng, shared } from "./util.js";

type Rng = ReturnType<typeof rng>;
const SIZE: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8, BOOL: 1, U8: 1, I16: 2 };
const ANY_BITS = new Set(["F32", "F16", "BF16", "F64", "I32", "U8", "I16"]); // every byte pattern is a valid value
const NAMES = [
  "w",
  "transformer.h.0.attn.c_attn.weight",
  "a/b.c",
  "ünï-cødé",
  "lm_head.weight",
  "x y",
  "0",
  "blocks.1.mlp.W_in",
];

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}
interface Base {
  header: Record<string, unknown>; // the JSON header object (entries as {dtype, shape, data_offsets})
  entries: Entry[];
  data: Uint8Array;
  pad: number; // trailing spaces after the JSON
}

/** A random valid file: 1–6 tensors (at least one non-empty), random order, holes between them, none at the end. */
function makeBase(r: Rng): Base {
  const n = r.int(1, 6);
  const entries: Entry[] = [];
  const used = new Set<string>();
  for (let i = 0; i < n; i++) {
    let name = r.pick(NAMES);
    if (used.has(name)) name = `${name}.${i}`;
    used.add(name);
    const dtype = r.pick(Object.keys(SIZE));
    const ndim = r.int(0, 3);
    const shape = Array.from({ length: ndim }, () => r.int(1, 5));
    if (i > 0 && r.next() < 0.1) shape.push(0); // occasionally an empty tensor
    entries.push({ name, dtype, shape, begin: 0, end: 0 });
  }
  const order = entries.map((_, i) => i).sort(() => r.next() - 0.5);
  let off = 0;
  for (const i of order) {
    const e = entries[i]!;
    off += r.next() < 0.3 ? r.int(1, 7) : 0; // a hole
    e.begin = off;
    e.end = off + e.shape.reduce((a, b) => a * b, 1) * SIZE[e.dtype]!;
    off = e.end;
  }
  // the data section ends exactly at the last tensor's end (so any truncation breaks the file)
  const dataLen = Math.max(...entries.map((e) => e.end));
  const data = new Uint8Array(dataLen);
  for (let i = 0; i < dataLen; i++) data[i] = r.int(0, 255);
  for (const e of entries) {
    if (e.dtype === "I64") {
      const dv = new DataView(data.buffer, e.begin, e.end - e.begin);
      for (let j = 0; j < (e.end - e.begin) / 8; j++)
        dv.setBigInt64(8 * j, BigInt(r.int(-(2 ** 31), 2 ** 31 - 1)), true);
    }
    if (e.dtype === "BOOL") for (let j = e.begin; j < e.end; j++) data[j] = r.int(0, 1);
  }
  if (dataLen > 0) data[0] = 1; // not JSON whitespace (see "header length + k"), valid for every dtype
  const header: Record<string, unknown> = {};
  if (r.next() < 0.4) header.__metadata__ = { format: "pt", k: "v" };
  for (const e of entries) header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.end] };
  if (!entries.some((e) => e.end > e.begin)) return makeBase(r);
  return { header, entries, data, pad: r.next() < 0.5 ? r.int(1, 7) : 0 };
}

const enc = new TextEncoder();
/** Serialises a header, replacing "@@RAW@@" placeholders with raw JSON tokens (numbers JSON.stringify cannot write). */
function headerText(h: unknown, raw?: string): string {
  const s = JSON.stringify(h);
  return raw === undefined ? s : s.replace('"@@RAW@@"', raw);
}
const fileOf = (b: Base, text = headerText(b.header)): Uint8Array => buildFile(text + " ".repeat(b.pad), b.data);

interface Mutant {
  bytes: Uint8Array;
  what: string;
  tensor?: string;
}

const BAD_NUMBERS = [
  "-1",
  "1.5",
  "1e400",
  "-1e400",
  "9007199254740993",
  "18446744073709551616",
  '"7"',
  "null",
  "true",
  "[1]",
  "{}",
];
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const nonEmpty = (b: Base): Entry[] => b.entries.filter((e) => e.end > e.begin);

/** Positions in `text` whose deletion always breaks JSON: structural characters outside strings and string quotes. */
function structuralPositions(text: string): number[] {
  const out: number[] = [];
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') {
        inStr = false;
        out.push(i);
      }
    } else if (c === '"') {
      inStr = true;
      out.push(i);
    } else if ("{}[]:,".includes(c)) out.push(i);
  }
  return out;
}

const CATEGORIES: Record<string, (b: Base, r: Rng) => Mutant> = {
  "header length past end / over the limit": (b, r) => {
    const f = fileOf(b);
    const len = r.next() < 0.5 ? r.int(f.length - 8 + 1, f.length + 1000) : r.int(100_000_001, 2 ** 32 - 1);
    new DataView(f.buffer).setUint32(0, len, true);
    return { bytes: f, what: `header length ${len}` };
  },
  "header length with high word set": (b, r) => {
    const f = fileOf(b);
    new DataView(f.buffer).setUint32(4, r.int(1, 2 ** 32 - 1), true);
    return { bytes: f, what: "u64 header length ≥ 2^32" };
  },
  "header length 0 or 1": (b, r) => {
    const f = fileOf(b);
    new DataView(f.buffer).setBigUint64(0, BigInt(r.int(0, 1)), true);
    return { bytes: f, what: "tiny header length" };
  },
  "header length too short (JSON cut)": (b, r) => {
    const text = headerText(b.header);
    const f = fileOf(b, text);
    const cut = r.int(2, enc.encode(text).length - 1); // drops the closing brace at least
    new DataView(f.buffer).setBigUint64(0, BigInt(cut), true);
    return { bytes: f, what: `header length ${cut} < ${text.length}` };
  },
  "header length too long (data in JSON)": (b, r) => {
    const f = fileOf(b);
    const dv = new DataView(f.buffer);
    const n = Number(dv.getBigUint64(0, true));
    dv.setBigUint64(0, BigInt(n + r.int(1, b.data.length)), true);
    return { bytes: f, what: "header length + k" };
  },
  "JSON truncated": (b, r) => {
    const text = headerText(b.header);
    return { bytes: buildFile(text.slice(0, r.int(1, text.length - 1)), b.data), what: "truncated JSON" };
  },
  "JSON structural character deleted": (b, r) => {
    const text = headerText(b.header);
    const pos = r.pick(structuralPositions(text));
    return {
      bytes: buildFile(text.slice(0, pos) + text.slice(pos + 1) + " ".repeat(b.pad), b.data),
      what: `deleted ${text[pos]} at ${pos}`,
    };
  },
  "JSON invalid UTF-8": (b, r) => {
    const t = enc.encode(headerText(b.header));
    const at = r.int(1, t.length - 1);
    const bad = r.pick([
      [0xff],
      [0xc0, 0x80],
      [0x80],
      [0xed, 0xa0, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xe2, 0x82],
    ]);
    const out = new Uint8Array(t.length + bad.length);
    out.set(t.subarray(0, at));
    out.set(bad, at);
    out.set(t.subarray(at), at + bad.length);
    return { bytes: buildFile(out, b.data), what: `invalid UTF-8 at ${at}` };
  },
  "JSON trailing garbage": (b, r) => {
    const g = r.pick(["x", "}", ",", ",{}", "[", "\u0000", "{}", "null", "\u00a0"]);
    return {
      bytes: buildFile(headerText(b.header) + " ".repeat(r.int(0, 2)) + g, b.data),
      what: `garbage ${JSON.stringify(g)}`,
    };
  },
  "JSON not an object": (b, r) => {
    const t = r.pick([
      "[]",
      `[${headerText(b.header)}]`,
      '"x"',
      "12",
      "null",
      "true",
      " {}",
      "\ufeff{}",
      "\n" + headerText(b.header),
    ]);
    return { bytes: buildFile(t, b.data), what: `header ${t.slice(0, 10)}` };
  },
  "__metadata__ not string→string": (b, r) => {
    const h = clone(b.header);
    h.__metadata__ =
      r.next() < 0.5
        ? r.pick<unknown>(["pt", 1, [], null, true, ["a"]])
        : { format: "pt", bad: r.pick<unknown>([1, null, {}, [], true, 2.5]) };
    return { bytes: fileOf(b, headerText(h)), what: "bad metadata" };
  },
  "entry not an object": (b, r) => {
    const h = clone(b.header);
    const e = r.pick(b.entries);
    h[e.name] = r.pick<unknown>([1, "F32", null, [], [e.dtype, e.shape, [e.begin, e.end]], true]);
    return { bytes: fileOf(b, headerText(h)), what: "entry not an object", tensor: e.name };
  },
  "dtype missing / not a string / unknown": (b, r) => {
    const h = clone(b.header);
    const e = r.pick(b.entries);
    const info = h[e.name] as Record<string, unknown>;
    const k = r.int(0, 2);
    if (k === 0) delete info.dtype;
    else if (k === 1) info.dtype = r.pick<unknown>([4, null, ["F32"], {}, true]);
    else
      info.dtype = r.pick([
        "f32",
        "float32",
        "F32 ",
        "",
        "F128",
        "U64",
        "F8_E4M3",
        "F8_E5M2",
        "C64",
        "Q4_0",
        "BF32",
        "I128",
        "i64",
      ]);
    return { bytes: fileOf(b, headerText(h)), what: `dtype ${JSON.stringify(info.dtype)}`, tensor: e.name };
  },
  "dtype with another item size": (b, r) => {
    const h = clone(b.header);
    const e = r.pick(nonEmpty(b));
    const dtype = r.pick(Object.keys(SIZE).filter((d) => SIZE[d] !== SIZE[e.dtype]));
    (h[e.name] as Record<string, unknown>).dtype = dtype;
    return { bytes: fileOf(b, headerText(h)), what: `${e.dtype} → ${dtype}`, tensor: e.name };
  },
  "shape missing / not an array / bad dimension": (b, r) => {
    const h = clone(b.header);
    const e = r.pick(b.entries);
    const info = h[e.name] as Record<string, unknown>;
    const k = r.int(0, 2);
    let raw: string | undefined;
    if (k === 0) delete info.shape;
    else if (k === 1) info.shape = r.pick<unknown>([3, "3", null, { 0: 3 }, true]);
    else {
      const s: unknown[] = [...e.shape, 1];
      s[r.int(0, s.length - 1)] = "@@RAW@@";
      raw = r.pick([...BAD_NUMBERS, "-3", "2.5", "[2]"]);
      info.shape = s;
    }
    return {
      bytes: fileOf(b, headerText(h, raw)),
      what: `shape ${JSON.stringify(info.shape)} ${raw ?? ""}`,
      tensor: e.name,
    };
  },
  "shape disagrees with the byte range": (b, r) => {
    const h = clone(b.header);
    const e = r.pick(nonEmpty(b));
    const s = [...e.shape];
    const k = r.int(0, 3);
    if (k === 0 && s.length > 0) s[r.int(0, s.length - 1)]! += r.int(1, 3);
    else if (k === 1) s.splice(r.int(0, s.length), 0, r.int(2, 4));
    else if (k === 2 && s.some((d) => d >= 2))
      s.splice(
        s.findIndex((d) => d >= 2),
        1,
      );
    else s.push(r.int(2, 2 ** 30), r.int(2, 2 ** 30));
    (h[e.name] as Record<string, unknown>).shape = s;
    return {
      bytes: fileOf(b, headerText(h)),
      what: `shape ${JSON.stringify(e.shape)} → ${JSON.stringify(s)}`,
      tensor: e.name,
    };
  },
  "data_offsets missing / malformed": (b, r) => {
    const h = clone(b.header);
    const e = r.pick(b.entries);
    const info = h[e.name] as Record<string, unknown>;
    const k = r.int(0, 3);
    let raw: string | undefined;
    if (k === 0) delete info.data_offsets;
    else if (k === 1)
      info.data_offsets = r.pick<unknown>([
        [],
        [e.begin],
        [e.begin, e.end, e.end],
        5,
        "0,4",
        null,
        { 0: e.begin, 1: e.end },
      ]);
    else {
      const o: unknown[] = [e.begin, e.end];
      o[r.int(0, 1)] = "@@RAW@@";
      raw = r.pick(BAD_NUMBERS);
      info.data_offsets = o;
    }
    return {
      bytes: fileOf(b, headerText(h, raw)),
      what: `offsets ${JSON.stringify(info.data_offsets)} ${raw ?? ""}`,
      tensor: e.name,
    };
  },
  "data_offsets reversed": (b, r) => {
    const h = clone(b.header);
    const e = r.pick(nonEmpty(b));
    (h[e.name] as Record<string, unknown>).data_offsets = [e.end, e.begin];
    return { bytes: fileOf(b, headerText(h)), what: "reversed", tensor: e.name };
  },
  "data_offsets out of the file": (b, r) => {
    const h = clone(b.header);
    const e = r.pick(nonEmpty(b));
    const k = r.int(0, 2);
    const dataLen = b.data.length;
    const size = e.end - e.begin;
    const shifted = dataLen - size + r.int(1, 64);
    const o =
      k === 0
        ? [e.begin, e.end + r.int(1, 16)] // size mismatch or past the end
        : k === 1
          ? [shifted, shifted + size] // right size, past the end
          : [e.begin + 2 ** 40, e.end + 2 ** 40];
    (h[e.name] as Record<string, unknown>).data_offsets = o;
    return { bytes: fileOf(b, headerText(h)), what: `offsets ${JSON.stringify(o)} (data ${dataLen})`, tensor: e.name };
  },
  "data_offsets overlapping": (b, r) => {
    const ne = nonEmpty(b);
    if (ne.length < 2) {
      // make a second entry that overlaps the only one
      const h = clone(b.header);
      const e = ne[0]!;
      h["overlap.copy"] = { dtype: "U8", shape: [1], data_offsets: [e.end - 1, e.end] };
      return { bytes: fileOf(b, headerText(h)), what: "overlap (added)", tensor: "overlap.copy" };
    }
    const h = clone(b.header);
    const [a, c] = [r.pick(ne), r.pick(ne)];
    const other = a === c ? ne.find((x) => x !== a)! : c;
    const start = a.begin + r.int(0, a.end - a.begin - 1);
    (h[other.name] as Record<string, unknown>).data_offsets = [start, start + (other.end - other.begin)];
    return { bytes: fileOf(b, headerText(h)), what: `${other.name} moved into ${a.name}`, tensor: other.name };
  },
  "file truncated": (b, r) => {
    const f = fileOf(b);
    return { bytes: f.slice(0, r.int(0, f.length - 1)), what: "truncated file" };
  },
  "integer values out of range": (b, r) => {
    const ints = nonEmpty(b).filter((e) => e.dtype === "I64" || e.dtype === "BOOL");
    const data = b.data.slice();
    let e: Entry;
    if (ints.length === 0) {
      // add one
      const h = clone(b.header);
      const bad = new Uint8Array(8);
      new DataView(bad.buffer).setBigInt64(0, BigInt(r.int(1, 2 ** 20)) << 31n, true);
      const more = new Uint8Array(data.length + 8);
      more.set(data);
      more.set(bad, data.length);
      h["ids"] = { dtype: "I64", shape: [1], data_offsets: [data.length, data.length + 8] };
      return { bytes: buildFile(headerText(h), more), what: "I64 ≥ 2^31", tensor: "ids" };
    }
    e = r.pick(ints);
    const j = r.int(0, (e.end - e.begin) / SIZE[e.dtype]! - 1);
    if (e.dtype === "BOOL") data[e.begin + j] = r.int(2, 255);
    else {
      const dv = new DataView(data.buffer, e.begin + 8 * j, 8);
      const lo = dv.getInt32(0, true);
      dv.setInt32(4, (lo >> 31) ^ r.int(1, 2 ** 31 - 1), true); // high word is not lo's sign extension
    }
    return { bytes: fileOf({ ...b, data }), what: `${e.dtype} value`, tensor: e.name };
  },
};

describe("safetensors fuzz (seeded)", () => {
  it("every one of ≥ 1000 structurally broken files gives a LoadError naming the file (and the tensor), fast", () => {
    const r = rng(20240601);
    const names = Object.keys(CATEGORIES);
    const perCategory = Object.fromEntries(names.map((n) => [n, 0]));
    const problems: string[] = [];
    const t0 = performance.now();
    const N = 3300;
    for (let i = 0; i < N; i++) {
      const cat = names[i % names.length]!;
      const base = makeBase(r);
      const m = CATEGORIES[cat]!(base, r);
      const file = `fuzz-${i}.safetensors`;
      let err: unknown;
      try {
        readSafetensors(m.bytes, file);
      } catch (e) {
        err = e;
      }
      perCategory[cat]!++;
      const label = `#${i} [${cat}] ${m.what}`;
      if (err === undefined) problems.push(`${label}: loaded without error`);
      else if (!(err instanceof LoadError))
        problems.push(`${label}: ${(err as Error).name}: ${(err as Error).message}`);
      else if (!err.message.startsWith(`${file}: `))
        problems.push(`${label}: message does not name the file: ${err.message}`);
      else if (m.tensor !== undefined && !err.message.includes(`"${m.tensor}"`))
        problems.push(`${label}: message does not name "${m.tensor}": ${err.message}`);
    }
    const ms = performance.now() - t0;
    expect(problems.slice(0, 20)).toEqual([]);
    expect(N).toBeGreaterThanOrEqual(1000);
    for (const n of names) expect(perCategory[n], n).toBeGreaterThanOrEqual(100);
    expect(ms).toBeLessThan(10_000);
  }, 20_000);

  it("the valid base files load, mutating only payload bytes still loads, appended bytes are refused unless allowed", () => {
    const r = rng(7);
    for (let i = 0; i < 500; i++) {
      const base = makeBase(r);
      const good = readSafetensors(fileOf(base), "base");
      const fileOrder = [...base.entries]
        .sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : 1))
        .map((e) => e.name);
      expect([...good.tensors.keys()]).toEqual(fileOrder);
      for (const e of base.entries) expect(good.tensors.get(e.name)!.shape).toEqual(e.shape);
      // payload mutation: random bytes in every tensor whose dtype accepts any bit pattern, and in holes
      const data = base.data.slice();
      const covered = new Uint8Array(data.length);
      for (const e of base.entries) covered.fill(ANY_BITS.has(e.dtype) ? 0 : 1, e.begin, e.end);
      for (let j = 0; j < data.length; j++) if (!covered[j] && r.next() < 0.5) data[j] = r.int(0, 255);
      const mutated = readSafetensors(fileOf({ ...base, data }), "payload");
      for (const e of base.entries) {
        const t = mutated.tensors.get(e.name)!;
        expect(t.shape).toEqual(e.shape);
        expect(t.dtype).toBe(good.tensors.get(e.name)!.dtype);
      }
      const extended = new Uint8Array(fileOf(base).length + 5);
      extended.set(fileOf(base));
      expect(() => readSafetensors(extended, "trailing")).toThrow(/5 bytes after the end of the last tensor/);
      expect(readSafetensors(extended, "trailing", { allowTrailingBytes: true }).tensors.size).toBe(
        base.entries.length,
      );
    }
  });

  it("broken files on disk give LoadError through readSafetensorsFile too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tlens-fuzz-"));
    try {
      const r = rng(99);
      const names = Object.keys(CATEGORIES);
      for (let i = 0; i < 120; i++) {
        const m = CATEGORIES[names[i % names.length]!]!(makeBase(r), r);
        const path = join(dir, `f${i}.safetensors`);
        writeFileSync(path, m.bytes);
        const err = await readSafetensorsFile(path).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, `#${i} ${m.what}`).toBeInstanceOf(LoadError);
        expect((err as Error).message.startsWith(`${path}: `)).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("bytes that are not a safetensors file at all give LoadError", () => {
    const r = rng(3);
    for (let i = 0; i < 300; i++) {
      const bytes = new Uint8Array(r.int(0, 64)).map(() => r.int(0, 255));
      if (i % 3 === 0 && bytes.length >= 8) bytes.fill(0, 1, 8); // small plausible header length
      expect(() => readSafetensors(bytes, "random")).toThrow(LoadError);
    }
    expect(() => readSafetensors(new TextEncoder().encode('{"a": 1}'), "json")).toThrow(LoadError);
  });
});

// ---------- configs ----------

const goldenConfig = JSON.parse(readFileSync(shared("golden/tl/config.json"), "utf8")) as Record<string, unknown>;
const BAD_POS_INT: unknown[] = [0, -1, -64, 1.5, "12", true, [], {}, [4], NaN, Infinity, -Infinity, 2 ** 60, 1e300];

interface ConfigMutant {
  json: unknown;
  field: string;
  what: string;
}

const CONFIG_CATEGORIES: Record<string, (r: Rng) => ConfigMutant> = {
  "required field missing": (r) => {
    const c = { ...goldenConfig };
    const field = r.pick(["n_layer", "n_embd", "n_head", "vocab_size"]);
    if (r.next() < 0.5) delete c[field];
    else c[field] = null;
    return { json: c, field, what: `${field} missing` };
  },
  "size field not a positive integer": (r) => {
    const c = { ...goldenConfig };
    const field = r.pick(["n_layer", "n_embd", "n_head", "vocab_size", "n_positions", "n_ctx", "n_inner"]);
    const v = r.pick(BAD_POS_INT);
    c[field] = v;
    return { json: c, field, what: `${field} = ${String(v)}` };
  },
  "context length missing or inconsistent": (r) => {
    const c = { ...goldenConfig };
    if (r.next() < 0.5) {
      delete c.n_positions;
      delete c.n_ctx;
      return { json: c, field: "n_positions", what: "no n_positions/n_ctx" };
    }
    c.n_ctx = (c.n_positions as number) + r.int(1, 100);
    return { json: c, field: "n_ctx", what: "n_ctx ≠ n_positions" };
  },
  "n_embd not divisible by n_head": (r) => {
    const c = { ...goldenConfig };
    const heads = r.int(2, 16);
    c.n_head = heads;
    c.n_embd = heads * r.int(1, 64) + r.int(1, heads - 1);
    return { json: c, field: "n_embd", what: `n_embd ${c.n_embd} / n_head ${heads}` };
  },
  "bad activation": (r) => {
    const c = { ...goldenConfig };
    c.activation_function = r.pick<unknown>(["gelu_neww", "GELU", "tanh", "quick_gelu", "", 1, true, [], {}]);
    return { json: c, field: "activation_function", what: String(c.activation_function) };
  },
  "bad layer_norm_epsilon": (r) => {
    const c = { ...goldenConfig };
    c.layer_norm_epsilon = r.pick<unknown>([0, -1e-5, "1e-5", true, NaN, Infinity, [], {}]);
    return { json: c, field: "layer_norm_epsilon", what: String(c.layer_norm_epsilon) };
  },
  "bad token ids": (r) => {
    const c = { ...goldenConfig };
    const field = r.pick(["bos_token_id", "eos_token_id"]);
    c[field] = r.pick<unknown>([-1, 1.5, "1", true, [], 1000, 1000 + r.int(1, 100000), 2 ** 60]);
    return { json: c, field, what: `${field} = ${String(c[field])}` };
  },
  "bad boolean flags": (r) => {
    const c = { ...goldenConfig };
    const field = r.pick([
      "scale_attn_by_inverse_layer_idx",
      "scale_attn_weights",
      "tie_word_embeddings",
      "add_cross_attention",
    ]);
    c[field] =
      field === "add_cross_attention" && r.next() < 0.5 ? true : r.pick<unknown>(["true", 1, 0, [], {}, "false"]);
    return { json: c, field, what: `${field} = ${String(c[field])}` };
  },
  "unknown architecture": (r) => {
    const c = { ...goldenConfig };
    const k = r.int(0, 3);
    if (k === 0) c.architectures = [r.pick(["BloomForCausalLM", "T5Model", "BertModel", "gpt2"])];
    else if (k === 1) c.architectures = r.pick<unknown>(["GPT2LMHeadModel", 5, [1], {}]);
    else if (k === 2) {
      delete c.architectures;
      c.model_type = r.pick<unknown>(["bloom", "GPT2", 2, null]);
    } else {
      delete c.architectures;
      delete c.model_type;
    }
    return {
      json: c,
      field: "architecture",
      what: `architectures ${JSON.stringify(c.architectures)} model_type ${JSON.stringify(c.model_type)}`,
    };
  },
  "not an object": (r) => ({
    json: r.pick<unknown>([null, [], [goldenConfig], "config", 5, true, undefined]),
    field: "JSON object",
    what: "not an object",
  }),
};

describe("HF config fuzz (seeded)", () => {
  it("every broken config gives a LoadError naming the field", () => {
    const r = rng(4242);
    const names = Object.keys(CONFIG_CATEGORIES);
    const problems: string[] = [];
    const N = 1200;
    for (let i = 0; i < N; i++) {
      const cat = names[i % names.length]!;
      const m = CONFIG_CATEGORIES[cat]!(r);
      let err: unknown;
      try {
        hfConfigToTL(m.json, "cfg.json");
      } catch (e) {
        err = e;
      }
      const label = `#${i} [${cat}] ${m.what}`;
      if (err === undefined) problems.push(`${label}: accepted`);
      else if (!(err instanceof LoadError))
        problems.push(`${label}: ${(err as Error).name}: ${(err as Error).message}`);
      else if (!err.message.startsWith("cfg.json: ")) problems.push(`${label}: no source in ${err.message}`);
      else if (!err.message.includes(m.field)) problems.push(`${label}: does not name ${m.field}: ${err.message}`);
    }
    expect(problems.slice(0, 20)).toEqual([]);
  });

  it("configs without the optional fields still load (HF defaults)", () => {
    const optional = [
      "n_inner",
      "activation_function",
      "layer_norm_epsilon",
      "bos_token_id",
      "eos_token_id",
      "n_ctx",
      "tie_word_embeddings",
      "scale_attn_weights",
      "scale_attn_by_inverse_layer_idx",
      "reorder_and_upcast_attn",
      "resid_pdrop",
      "torch_dtype",
      "model_type",
    ];
    const r = rng(1);
    for (let i = 0; i < 200; i++) {
      const c = { ...goldenConfig };
      for (const f of optional) if (r.next() < 0.5) delete c[f];
      const cfg = hfConfigToTL(c, "cfg.json");
      expect(cfg).toMatchObject({ nLayers: 3, dModel: 64, nHeads: 4, dMlp: 256, nCtx: 64, dVocab: 1000 });
    }
  });
});
