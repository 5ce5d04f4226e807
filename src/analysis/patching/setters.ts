// Patch setters: how a clean activation is written into a corrupted one for one index (TL's *_patch_setter).
// `offset` is the absolute position of the corrupted activation's first position: fast sweeps recompute only the
// positions a patch can change, so their activations start at the patched position; the clean activation always
// covers every position.
import type { Tensor } from "../../tensor/index.js";

/** Edits `corrupted` in place (or returns a replacement) for one index of the sweep. */
export type PatchSetter = (corrupted: Tensor, index: readonly number[], clean: Tensor, offset: number) => Tensor | void;

/** index = [layer, pos] on activations [batch, pos, ...] */
export const layerPosPatchSetter: PatchSetter = (corrupted, [, pos], clean, offset) => {
  corrupted.set([":", pos! - offset], clean.get(":", pos!));
};

/** index = [layer, pos, head] on [batch, pos, head, ...] (q, k, v, z, result) */
export const layerPosHeadVectorPatchSetter: PatchSetter = (corrupted, [, pos, head], clean, offset) => {
  corrupted.set([":", pos! - offset, head!], clean.get(":", pos!, head!));
};

/** index = [layer, head] on [batch, pos, head, ...], every position */
export const layerHeadVectorPatchSetter: PatchSetter = (corrupted, [, head], clean, offset) => {
  corrupted.set([":", ":", head!], clean.get(":", `${offset}:`, head!));
};

/** index = [layer, head] on patterns/scores [batch, head, dest, src] */
export const layerHeadPatternPatchSetter: PatchSetter = (corrupted, [, head], clean, offset) => {
  corrupted.set([":", head!], clean.get(":", head!, `${offset}:`));
};

/** index = [layer, head, dest] on [batch, head, dest, src] */
export const layerHeadPosPatternPatchSetter: PatchSetter = (corrupted, [, head, dest], clean, offset) => {
  corrupted.set([":", head!, dest! - offset], clean.get(":", head!, dest!));
};

/** index = [layer, head, dest, src] on [batch, head, dest, src] */
export const layerHeadDestSrcPosPatternPatchSetter: PatchSetter = (corrupted, [, head, dest, src], clean, offset) => {
  corrupted.set([":", head!, dest! - offset, src!], clean.get(":", head!, dest!, src!));
};

/** The setters above: each writes only positions ≥ the offset it is given, so a sweep may start a patch at any
 *  position where it changes nothing before. */
export const OFFSET_AWARE_SETTERS: ReadonlySet<PatchSetter> = new Set([
  layerPosPatchSetter,
  layerPosHeadVectorPatchSetter,
  layerHeadVectorPatchSetter,
  layerHeadPatternPatchSetter,
  layerHeadPosPatternPatchSetter,
  layerHeadDestSrcPosPatternPatchSetter,
]);
