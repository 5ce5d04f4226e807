// Typed reads of config.json fields for the family mappings: each read names the field and what was wrong.
import { ConfigError } from "../../errors.js";

const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

export class HfFields {
  constructor(
    readonly json: Record<string, unknown>,
    readonly source: string,
  ) {}

  fail(field: string, problem: string): never {
    throw new ConfigError(`${this.source}: field "${field}" ${problem}`);
  }

  private present(field: string): boolean {
    return this.json[field] !== undefined && this.json[field] !== null;
  }

  /** A positive integer; missing is an error unless a default is given. */
  int(field: string, dflt?: number): number {
    if (!this.present(field)) return dflt ?? this.fail(field, "is missing (a positive integer is required)");
    const v = this.json[field];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0)
      return this.fail(field, `must be a positive integer, got ${show(v)}`);
    return v;
  }

  /** A positive integer, or null when the field is absent or null. */
  intOrNull(field: string): number | null {
    return this.present(field) ? this.int(field) : null;
  }

  /** A finite positive number. */
  num(field: string, dflt?: number): number {
    if (!this.present(field)) return dflt ?? this.fail(field, "is missing (a positive number is required)");
    const v = this.json[field];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
      return this.fail(field, `must be a positive number, got ${show(v)}`);
    return v;
  }

  numOrNull(field: string): number | null {
    return this.present(field) ? this.num(field) : null;
  }

  bool(field: string, dflt: boolean): boolean {
    if (!this.present(field)) return dflt;
    const v = this.json[field];
    if (typeof v !== "boolean") return this.fail(field, `must be true or false, got ${show(v)}`);
    return v;
  }

  /** One of `allowed`. */
  oneOf<T extends string>(field: string, allowed: readonly T[], dflt?: T): T {
    if (!this.present(field)) return dflt ?? this.fail(field, `is missing (one of ${allowed.join(", ")})`);
    const v = this.json[field];
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      return this.fail(field, `${show(v)} is not supported (supported: ${allowed.join(", ")})`);
    }
    return v as T;
  }

  /** A token id below `vocab` (eos_token_id may be a list: its first entry, as generation's stop token). */
  tokenId(field: string, vocab: number): number | null {
    let v = this.json[field];
    if (Array.isArray(v)) v = v[0];
    if (v === undefined || v === null) return null;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      return this.fail(field, `must be a non-negative integer, got ${show(v)}`);
    if (v >= vocab) return this.fail(field, `(${v}) must be less than vocab_size (${vocab})`);
    return v;
  }

  /** An object field, or null when absent. */
  objectOrNull(field: string): Record<string, unknown> | null {
    if (!this.present(field)) return null;
    const v = this.json[field];
    if (typeof v !== "object" || Array.isArray(v)) return this.fail(field, `must be an object, got ${show(v)}`);
    return v as Record<string, unknown>;
  }

  /** A list of strings, or null when absent. */
  stringsOrNull(field: string): string[] | null {
    if (!this.present(field)) return null;
    const v = this.json[field];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
      return this.fail(field, `must be a list of strings, got ${show(v)}`);
    return v as string[];
  }

  /** `a / b` when it divides evenly (d_head = hidden_size / num_attention_heads). */
  quotient(aField: string, bField: string): number {
    const a = this.int(aField),
      b = this.int(bField);
    if (a % b !== 0) this.fail(aField, `(${a}) must be divisible by ${bField} (${b})`);
    return a / b;
  }
}
