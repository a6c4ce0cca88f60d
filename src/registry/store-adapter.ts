// Adapts src/store's Store to the TransferStore port pull and push use: blobs verified on
// write, images committed with putImage (under the store lock), lazy parallel gzip of
// layers remembered by the store (compressLayer), and the gzip blobs pulls saw in
// registries (blob-info.ts, kept in tbuild/blob-info).
import { join } from "node:path";
import { MediaType } from "../image/index.js";
import { StoreDestination, compressLayer, writeLayerRecord, type Store } from "../store/index.js";
import { TbuildError, type Digest } from "../util/index.js";
import { BlobInfoCache } from "./blob-info.js";
import type { TransferStore } from "./store-port.js";

export function storeTransfer(store: Store): TransferStore {
  const blobInfo = new BlobInfoCache(join(store.paths.data, "blob-info"), store.paths.tmp);
  return {
    hasBlob: (d) => store.hasBlob(d),
    openBlob: (d) => store.openBlob(d),
    readBlob: (d) => store.readBlob(d),
    putBlob: (src, expected) => store.putBlob(src, expected ? { digest: expected } : {}),
    putImage: async (img) => {
      const [r] = await store.commitImages([img], new Map());
      return { manifestDigest: r!.manifestDigest };
    },
    resolveImage: async (ref) => {
      let image;
      try {
        image = await store.resolve(ref);
      } catch (e) {
        if (e instanceof TbuildError && e.code === "E_STORE_NOT_FOUND") return undefined;
        throw e;
      }
      return {
        manifestDigest: image.manifestDigest,
        imageId: image.id,
        configSize: image.configSize,
        layers: image.rootfs.map((l) => ({ digest: l.blob.digest, size: l.blob.size, mediaType: l.blob.mediaType, diffId: l.diffId })),
      };
    },
    begin: () => {
      const dest = new StoreDestination(store);
      const expect = (digest: Digest, size: number | undefined) => ({ digest, ...(size !== undefined ? { size } : {}) });
      const report = (mismatch: (got: string) => Error) => (what: "size" | "digest", _want: unknown, got: string | number) => mismatch(what === "digest" ? String(got) : `${got} bytes`);
      return {
        putBlob: (src, expected, mismatch, size) => dest.putBlob(src, expect(expected, size), { hashInProcess: true, mismatch: report(mismatch) }),
        putBlobFile: (write, expected, mismatch, size) => dest.adoptBlob(write, expect(expected, size), { mismatch: report(mismatch) }),
        commit: async (img) => {
          const [r] = await dest.commitPending([img]);
          return { manifestDigest: r!.manifestDigest };
        },
        abort: () => dest.abort(),
      };
    },
    recordLayer: (r) => writeLayerRecord(store.paths, r),
    rememberGzip: (diffId, blob) => blobInfo.remember(diffId, blob),
    knownGzip: (diffId) => blobInfo.known(diffId),
    compressedLayer: async (diffId, sink) => {
      const info = await compressLayer(store, diffId, sink);
      return { ...info, mediaType: MediaType.OCI_LAYER_GZIP, open: () => store.openBlob(info.digest) };
    },
  };
}
