// Blob integrity: a cached blob is named by the hub's id for its bytes, so its name says what its bytes must hash
// to. LFS files: the sha256 (X-Linked-Etag, 64 hex digits); files kept in git: git's blob id, the sha1 of
// "blob {size}\0" + bytes (the ETag, 40 hex digits). Any other name (a hub mirror with its own ETags) cannot be
// checked beyond its size.
import type { Hash } from "node:crypto";

export type BlobKind = "sha256" | "git-sha1";

/** What a blob named `etag` must hash to, or null when the name is not a digest. */
export function blobKind(etag: string): BlobKind | null {
  if (/^[0-9a-f]{64}$/.test(etag)) return "sha256";
  if (/^[0-9a-f]{40}$/.test(etag)) return "git-sha1";
  return null;
}

/** The digest's name for messages. */
export const kindName = (kind: BlobKind): string => (kind === "sha256" ? "sha256" : "git blob sha1");

/** A hash fed with the blob's bytes whose hex digest is the blob's name; a git-sha1 needs the size up front. */
export async function blobHasher(kind: BlobKind, size: number): Promise<Hash> {
  const { createHash } = await import("node:crypto");
  return kind === "sha256" ? createHash("sha256") : createHash("sha1").update(`blob ${size}\0`);
}

/** Feeds a file's bytes into `hash`. */
export async function hashInto(file: string, hash: Hash): Promise<void> {
  const { createReadStream } = await import("node:fs");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

// Blobs this process has checked (path → inode:size:mtime), so a model loaded twice is hashed once.
const checked = new Map<string, string>();

async function statKey(file: string): Promise<string | null> {
  const { stat } = await import("node:fs/promises");
  try {
    const s = await stat(file);
    return s.isFile() ? `${s.ino}:${s.size}:${s.mtimeMs}` : null;
  } catch {
    return null;
  }
}

/** Records that `file` was just written with verified bytes. */
export async function markVerified(file: string): Promise<void> {
  const key = await statKey(file);
  if (key !== null) checked.set(file, key);
}

/**
 * Whether the blob file `file`, named `etag`, holds the bytes its name promises: false when missing or when the
 * digest differs; true for a name that is not a digest (nothing to check). Unchanged files are hashed once.
 */
export async function blobIsValid(file: string, etag: string): Promise<boolean> {
  const key = await statKey(file);
  if (key === null) return false;
  const kind = blobKind(etag);
  if (kind === null || checked.get(file) === key) return true;
  const { stat } = await import("node:fs/promises");
  const hash = await blobHasher(kind, (await stat(file)).size);
  try {
    await hashInto(file, hash);
  } catch {
    return false;
  }
  if (hash.digest("hex") !== etag) return false;
  checked.set(file, key);
  return true;
}
