// safetensors: a strict reader and a writer. The core works on Uint8Arrays only (no Node built-ins), so the
// browser build reuses it; `readSafetensorsFile` (safetensors-file.ts: file system) reads big files tensor by tensor.
//
// Format (https://github.com/huggingface/safetensors): u64 little-endian header length N, then N bytes of UTF-8
// JSON (an object: tensor name → {dtype, shape, data_offsets: [begin, end]}, plus an optional
// "__metadata__": string → string), then the data section; offsets are relative to the data section's start.
//
// Everything in the header is validated against the file before anything is allocated; every failure is a
// LoadError naming the file, the tensor (when there is one) and the problem.
import { LoadError } from "../errors.js";
import { Tensor } from "../tensor/index.js";
import type { TypedArray } from "../tensor/index.js";
import { checkFinite } from "./finite.js";
import { bfloat16Bits, decodeBfloat16, decodeFloat16, float16Bits } from "./float16.js";

export { bfloat16Bits, decodeBfloat16, decodeFloat16, float16Bits } from "./float16.js";

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** safetensors dtypes this reader decodes, with their byte size. */
const ITEM_SIZE: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};
/** Dtypes of the spec this reader refuses (named in the error so the user knows it is not a corrupt file). */
const KNOWN_UNSUPPORTED = new Set(["U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"]);

export interface SafetensorsEntry {
  name: string;
  /** The file's dtype string (F32, F16, BF16, F64, I64, I32, ...). */
  dtype: string;
  shape: number[];
  /** Byte offsets in the data section, [begin, end). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Tensors in the order of their data in the file (by begin offset; empty tensors at one offset by name). */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Absolute byte offset of the data section (8 + header length). */
  dataStart: number;
}

export interface ReadSafetensorsOptions {
  /** Keep F64 tensors as float64 (default: converted to float32 like every other float dtype). */
  keepFloat64?: boolean;
  /** Accept bytes after the last tensor (default: refused, as the reference reader refuses them). */
  allowTrailingBytes?: boolean;
  /** Refuse NaN and ±Inf in float tensors, naming the tensor (default false: a safetensors file may hold
   *  activations, e.g. masked attention scores at -inf; the weight loaders turn it on unless `allowNonFinite`). */
  checkFinite?: boolean;
}

export interface SafetensorsContents {
  /** Decoded tensors in file order (by data offset): floats → float32 (F64 → float64 with keepFloat64), integers → int32, BOOL → bool. */
  tensors: Map<string, Tensor>;
  /** Each tensor's dtype as stored in the file. */
  dtypes: Map<string, string>;
  metadata: Record<string, string>;
}

const fail = (file: string, problem: string, tensor?: string): never => {
  throw new LoadError(tensor === undefined ? `${file}: ${problem}` : `${file}: tensor "${tensor}": ${problem}`);
};

const show = (v: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/**
 * Reads the 8-byte length prefix and validates it against the file size. Returns the header length N.
 * `prefix` needs only the first 8 bytes of the file.
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, fileName: string): number {
  if (fileSize < 8 || prefix.length < 8) {
    fail(fileName, `not a safetensors file: ${fileSize} bytes is shorter than the 8-byte header length`);
  }
  const dv = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_BYTES) {
    const n = (BigInt(hi) << 32n) + BigInt(lo);
    fail(fileName, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  }
  const n = lo;
  if (n < 2) fail(fileName, `header length ${n} is too small for a JSON object`);
  if (8 + n > fileSize)
    fail(fileName, `header length ${n} runs past the end of the file (${fileSize} bytes): truncated or corrupt`);
  return n;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const isNonNegInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Parses and validates the header. `headerBytes` are the N JSON bytes (after the 8-byte prefix); `fileSize` is the
 * whole file's size (the data section is `fileSize - 8 - N` bytes).
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  fileSize: number,
  fileName: string,
  options: Pick<ReadSafetensorsOptions, "allowTrailingBytes"> = {},
): SafetensorsHeader {
  const dataStart = 8 + headerBytes.length;
  const dataLen = fileSize - dataStart;
  if (dataLen < 0) fail(fileName, `header runs past the end of the file`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    return fail(fileName, "header is not valid UTF-8");
  }
  if (text.charCodeAt(0) !== 0x7b /* { */)
    fail(fileName, `header does not start with "{" (got ${show(text.slice(0, 16))})`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(fileName, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) return fail(fileName, "header is not a JSON object");

  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const name of Object.keys(json)) {
    const info = json[name];
    if (name === "__metadata__") {
      if (!isPlainObject(info)) fail(fileName, `__metadata__ must be an object of strings, got ${show(info)}`);
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") fail(fileName, `__metadata__["${k}"] must be a string, got ${show(v)}`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    if (!isPlainObject(info))
      fail(fileName, `entry must be an object {dtype, shape, data_offsets}, got ${show(info)}`, name);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    for (const [field, v] of [
      ["dtype", dtype],
      ["shape", shape],
      ["data_offsets", offsets],
    ] as const) {
      if (v === undefined)
        fail(fileName, `"${field}" is missing (each entry needs dtype, shape and data_offsets)`, name);
    }
    if (typeof dtype !== "string") return fail(fileName, `dtype must be a string, got ${show(dtype)}`, name);
    const itemSize = Object.hasOwn(ITEM_SIZE, dtype) ? ITEM_SIZE[dtype] : undefined;
    if (itemSize === undefined) {
      fail(
        fileName,
        KNOWN_UNSUPPORTED.has(dtype)
          ? `dtype ${dtype} is not supported (supported: ${Object.keys(ITEM_SIZE).join(", ")})`
          : `unknown dtype ${show(dtype)} (supported: ${Object.keys(ITEM_SIZE).join(", ")})`,
        name,
      );
    }
    if (!Array.isArray(shape))
      return fail(fileName, `shape must be an array of non-negative integers, got ${show(shape)}`, name);
    let numel = 1;
    for (const d of shape) {
      if (!isNonNegInt(d))
        fail(
          fileName,
          `shape ${show(shape)} has an invalid dimension ${show(d)} (dimensions are non-negative integers)`,
          name,
        );
    }
    if ((shape as number[]).includes(0)) numel = 0;
    else
      for (const d of shape as number[]) {
        numel *= d;
        if (numel > dataLen) break;
      }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !isNonNegInt(offsets[0]) || !isNonNegInt(offsets[1])) {
      return fail(fileName, `data_offsets must be [begin, end] with non-negative integers, got ${show(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(fileName, `data_offsets [${begin}, ${end}] are reversed (begin > end)`, name);
    if (end > dataLen) {
      fail(
        fileName,
        `data_offsets [${begin}, ${end}] run past the end of the data section (${dataLen} bytes): truncated or corrupt file`,
        name,
      );
    }
    const expected = numel * itemSize!;
    if (end - begin !== expected) {
      fail(
        fileName,
        `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape ${show(shape)} of ${dtype} needs ${numel > dataLen ? "more than the whole file" : `${expected} bytes`}`,
        name,
      );
    }
    entries.push({ name, dtype, shape: [...(shape as number[])], begin, end });
  }

  // File order: by data offset (JS objects put integer-like keys first, so the JSON's key order is not reliable).
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // No two tensors may share bytes (holes between them are allowed). Empty tensors occupy nothing.
  const byStart = entries.filter((e) => e.end > e.begin);
  for (let i = 1; i < byStart.length; i++) {
    const prev = byStart[i - 1]!,
      cur = byStart[i]!;
    if (cur.begin < prev.end) {
      fail(
        fileName,
        `tensors "${prev.name}" [${prev.begin}, ${prev.end}] and "${cur.name}" [${cur.begin}, ${cur.end}] overlap`,
      );
    }
  }
  const last = entries.reduce((m, e) => Math.max(m, e.end), 0);
  if (dataLen > last && !options.allowTrailingBytes) {
    fail(
      fileName,
      `${dataLen - last} bytes after the end of the last tensor (the data section is ${dataLen} bytes, the tensors end at ${last}): ` +
        "a corrupt or padded file; pass allowTrailingBytes: true to read it anyway",
    );
  }
  return { entries, metadata, dataStart };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** An aligned, host-endian copy of `bytes` (item size `size`). */
function alignedCopy(bytes: Uint8Array, size: number): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (!LITTLE_ENDIAN_HOST && size > 1) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  return copy.buffer;
}

/**
 * Decodes one tensor's bytes (exactly `end - begin` bytes of the data section) into a Tensor that owns its memory.
 * `entry` must come from `parseSafetensorsHeader` (validated).
 */
export function decodeTensor(
  entry: SafetensorsEntry,
  bytes: Uint8Array,
  fileName: string,
  options: ReadSafetensorsOptions = {},
): Tensor {
  const { dtype, shape, name } = entry;
  const size = ITEM_SIZE[dtype]!;
  if (size === undefined) fail(fileName, `unknown dtype ${show(dtype)}`, name);
  if (bytes.length !== entry.end - entry.begin) {
    fail(fileName, `expected ${entry.end - entry.begin} bytes of data, got ${bytes.length}`, name);
  }
  const buf = alignedCopy(bytes, size);
  let data: TypedArray;
  switch (dtype) {
    case "F32":
      data = new Float32Array(buf);
      break;
    case "F16":
      data = decodeFloat16(new Uint16Array(buf));
      break;
    case "BF16":
      data = decodeBfloat16(new Uint16Array(buf));
      break;
    case "F64":
      data = options.keepFloat64 ? new Float64Array(buf) : new Float32Array(new Float64Array(buf));
      break;
    case "I32":
      data = new Int32Array(buf);
      break;
    case "I16":
      data = Int32Array.from(new Int16Array(buf));
      break;
    case "I8":
      data = Int32Array.from(new Int8Array(buf));
      break;
    case "U16":
      data = Int32Array.from(new Uint16Array(buf));
      break;
    case "U8":
      data = Int32Array.from(new Uint8Array(buf));
      break;
    case "BOOL": {
      const u = new Uint8Array(buf);
      for (let i = 0; i < u.length; i++) {
        if (u[i]! > 1) fail(fileName, `BOOL value ${u[i]} at element ${i} is not 0 or 1`, name);
      }
      data = u;
      break;
    }
    case "U32": {
      const u = new Uint32Array(buf);
      for (let i = 0; i < u.length; i++) {
        if (u[i]! > 0x7fffffff) fail(fileName, `U32 value ${u[i]} at element ${i} does not fit in int32`, name);
      }
      data = new Int32Array(buf);
      break;
    }
    case "I64": {
      const w = new Int32Array(buf);
      const out = new Int32Array(w.length / 2);
      for (let i = 0; i < out.length; i++) {
        const lo = w[2 * i]!,
          hi = w[2 * i + 1]!;
        if (hi !== lo >> 31) {
          const v = (BigInt(hi) << 32n) + BigInt(lo >>> 0);
          fail(fileName, `I64 value ${v} at element ${i} does not fit in int32 (tlens keeps integers as int32)`, name);
        }
        out[i] = lo;
      }
      data = out;
      break;
    }
    default:
      return fail(fileName, `unsupported dtype ${dtype}`, name);
  }
  if ((data instanceof Float32Array || data instanceof Float64Array) && options.checkFinite)
    checkFinite(data, name, fileName);
  return Tensor.fromTypedArray(data, shape);
}

/**
 * Reads a whole safetensors file held in memory. Throws LoadError (naming `fileName`, the tensor and the problem)
 * for anything malformed: header length, UTF-8/JSON, entry fields, dtypes, shapes vs byte ranges, offsets outside
 * the data section, overlapping tensors, integers that do not fit int32.
 */
export function readSafetensors(
  bytes: Uint8Array,
  fileName: string,
  options: ReadSafetensorsOptions = {},
): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) throw new LoadError(`${fileName}: expected the file's bytes as a Uint8Array`);
  const n = readHeaderLength(bytes, bytes.length, fileName);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.length, fileName, options);
  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, string>();
  for (const e of header.entries) {
    const data = bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end);
    tensors.set(e.name, decodeTensor(e, data, fileName, options));
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, dtypes, metadata: header.metadata };
}

export interface WriteSafetensorsOptions {
  /**
   * Dtype for float tensors: "F16" or "BF16" (round to nearest even), or "F32". Default: float32 → F32 and
   * float64 → F64. Integers are written as I32 and bools as BOOL.
   */
  floatDtype?: "F32" | "F16" | "BF16";
}

/**
 * Serialises tensors (name → Tensor, in iteration order) as a safetensors file: header padded with spaces to a
 * multiple of 8, data packed in order with no holes.
 */
export function writeSafetensors(
  tensors: Record<string, Tensor> | Map<string, Tensor>,
  metadata?: Record<string, string>,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new LoadError(`writeSafetensors: metadata "${k}" must be a string`);
    }
    header.__metadata__ = metadata;
  }
  const parts: { dtype: string; t: Tensor }[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    if (name === "__metadata__") throw new LoadError(`writeSafetensors: "__metadata__" cannot be a tensor name`);
    let dtype: string;
    if (t.dtype === "int32") dtype = "I32";
    else if (t.dtype === "bool") dtype = "BOOL";
    else dtype = options.floatDtype ?? (t.dtype === "float64" ? "F64" : "F32");
    const nbytes = t.numel * ITEM_SIZE[dtype]!;
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + nbytes] };
    parts.push({ dtype, t });
    offset += nbytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.length % 2 ** 32, true);
  dv.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const { dtype, t } of parts) {
    const src = t.dataSync();
    if (
      LITTLE_ENDIAN_HOST &&
      ((dtype === "F32" && t.dtype === "float32") ||
        (dtype === "F64" && t.dtype === "float64") ||
        (dtype === "I32" && t.dtype === "int32"))
    ) {
      out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), pos); // raw bytes: NaN payloads kept
      pos += src.byteLength;
      continue;
    }
    switch (dtype) {
      case "F32":
        for (let i = 0; i < src.length; i++, pos += 4) dv.setFloat32(pos, src[i]!, true);
        break;
      case "F64":
        for (let i = 0; i < src.length; i++, pos += 8) dv.setFloat64(pos, src[i]!, true);
        break;
      case "F16":
        for (let i = 0; i < src.length; i++, pos += 2) dv.setUint16(pos, float16Bits(src[i]!), true);
        break;
      case "BF16":
        for (let i = 0; i < src.length; i++, pos += 2) dv.setUint16(pos, bfloat16Bits(src[i]!), true);
        break;
      case "I32":
        for (let i = 0; i < src.length; i++, pos += 4) dv.setInt32(pos, src[i]!, true);
        break;
      case "BOOL":
        for (let i = 0; i < src.length; i++, pos += 1) out[pos] = src[i] ? 1 : 0;
        break;
    }
  }
  return out;
}
