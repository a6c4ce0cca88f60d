// Digests as typed strings, and the small-preimage hasher used by the pure stages
// (@noble/hashes runs anywhere; bulk file and layer hashing uses node:crypto at the edges).
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { canonicalJson } from "./canonical-json.js";

/** `sha256:<64 lowercase hex>` */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** The hex part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice(7);
}

const encoder = new TextEncoder();

/**
 * The UTF-8 bytes of `text`. One shared encoder, its result used as is: noble's
 * utf8ToBytes makes an encoder and copies the bytes per call, which showed in planning,
 * where every step hashes a small preimage.
 */
export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** SHA-256 of bytes or a UTF-8 string, as a Digest (pure; for small inputs). */
export function sha256Digest(data: Uint8Array | string): Digest {
  const bytes = typeof data === "string" ? utf8Bytes(data) : data;
  return `sha256:${bytesToHex(sha256(bytes))}`;
}

/**
 * The digest of a typed preimage: `sha256("<tag>\0" + canonicalJson(value))`. The tag keeps
 * preimages of different kinds from ever colliding (STYLE.md example 4).
 */
export function hashPreimage(tag: string, value: unknown): Digest {
  return sha256Digest(`${tag}\0${canonicalJson(value)}`);
}

/** The 12-hex short form shown by `images`, `history` and progress output. */
export function shortDigest(d: string): string {
  return d.replace(/^sha256:/, "").slice(0, 12);
}
