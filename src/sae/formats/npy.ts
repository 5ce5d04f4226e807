// NumPy's .npy arrays (format versions 1–3) and .npz archives (a zip of .npy files, unzipped with fflate).
import { unzipSync } from "fflate";
import { Tensor } from "../../tensor/index.js";
import { SaeError } from "../errors.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** The header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } */
function parseHeader(text: string, where: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw new SaeError(`${where}: not a .npy header: ${text.trim()}`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new SaeError(`${where}: bad shape (${shapeText})`);
  return { descr, fortran: fortran === "True", shape };
}

/** float32 values of a little-endian (or byte-order-free) f2/f4/f8/i4/i8 array. */
function decode(descr: string, bytes: Uint8Array, n: number, where: string): Float32Array | Float64Array {
  const kind = descr.replace(/^[<|=]/, "");
  if (descr.startsWith(">"))
    throw new SaeError(`${where}: big-endian arrays (${descr}) are not supported; save little-endian`);
  const size = { f2: 2, f4: 4, f8: 8, i4: 4, i8: 8 }[kind];
  if (size === undefined) throw new SaeError(`${where}: dtype ${descr} is not supported (float16/32/64, int32/64)`);
  if (bytes.length < n * size)
    throw new SaeError(`${where}: data has ${bytes.length} bytes, the shape needs ${n * size}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n * size);
  if (kind === "f8") return Float64Array.from({ length: n }, (_, i) => dv.getFloat64(i * 8, true));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (kind === "f4") out[i] = dv.getFloat32(i * 4, true);
    else if (kind === "i4") out[i] = dv.getInt32(i * 4, true);
    else if (kind === "i8") out[i] = Number(dv.getBigInt64(i * 8, true));
    else out[i] = halfToFloat(dv.getUint16(i * 2, true));
  }
  return out;
}

function halfToFloat(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** One .npy array as a float tensor (float64 stays float64); Fortran order is transposed back to row-major. */
export function parseNpy(bytes: Uint8Array, where = "array.npy"): Tensor {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new SaeError(`${where}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const { descr, fortran, shape } = parseHeader(
    new TextDecoder("latin1").decode(bytes.subarray(start, start + headerLen)),
    where,
  );
  const n = shape.reduce((a, b) => a * b, 1);
  const data = decode(descr, bytes.subarray(start + headerLen), n, where);
  if (!fortran || shape.length < 2) return Tensor.fromTypedArray(data, shape);
  const reversed = Tensor.fromTypedArray(data, [...shape].reverse());
  return reversed.permute(...shape.map((_, i) => shape.length - 1 - i)).contiguous();
}

/** Every array of an .npz archive by name (the member name without ".npy"). */
export function parseNpz(bytes: Uint8Array, where = "params.npz"): Map<string, Tensor> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new SaeError(`${where}: not a zip archive (${(e as Error).message})`);
  }
  const out = new Map<string, Tensor>();
  for (const [name, data] of Object.entries(files)) {
    if (name.endsWith(".npy")) out.set(name.slice(0, -4), parseNpy(data, `${where}/${name}`));
  }
  return out;
}
