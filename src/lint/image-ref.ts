// lint reads base images with the store's own reference grammar (util/reference.ts), so a
// FROM lint accepts is one `tbuild build` can resolve, and the other way round.
import { checkReference, type Reference } from "../util/index.js";

export type ImageRef = Reference;

/** `ref` parsed and normalised without a default tag; undefined when the store would refuse it. */
export function parseImageRef(ref: string): ImageRef | undefined {
  const r = checkReference(ref, { defaultTag: false });
  return r.ok ? r.ref : undefined;
}
