// Axis names shared by einsum and the einops ops: identifiers, and the internal names of "..." dims.
/** An ellipsis dim gets an internal name that no pattern can spell. */
export const ELL = "\u2026";
export const ellName = (i: number): string => `${ELL}${i}`;
export const isEll = (name: string): boolean => name.startsWith(ELL);

export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
