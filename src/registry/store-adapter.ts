// Adapts src/store's Store to the TransferStore port pull and push use: blobs verified on
// write, images committed with putImage (under the store lock), lazy parallel gzip of
// layers remembered by the store (compressLayer), and pulled layers' records with the gzip
// blobs pulls saw in registries (blob-info.ts).
import { MediaType } from "../image/index.js";
import type { Store } from "../store/index.js";
import { TbuildError, type Digest } from "../util/index.js";
import { knownGzip, recordPulledLayer } from "./blob-info.js";
import { loadStore } from "./store-module.js";
import type { BlobMismatch, TransferStore } from "./store-port.js";

/** The store's mismatch callback for a port's BlobMismatch. */
const report = (mismatch: BlobMismatch) => (what: "size" | "digest", _want: unknown, got: string | number) => mismatch(what, what === "digest" ? String(got) : `${got} bytes`);

export function storeTransfer(store: Store): TransferStore {
  return {
    hasBlob: (d) => store.hasBlob(d),
    openBlob: (d) => store.openBlob(d),
    readBlob: (d) => store.readBlob(d),
    // Hashed on this thread, as the staging session's blobs: downloads run a few at once (a
    // cache import's prefetch), and an `openssl` per blob then cost more (~10% of an
    // all-hit --cache-from build of 3 x 96 MiB, medians of 5).
    putBlob: (src, expected, check) =>
      store.putBlob(src, { ...(expected ? { digest: expected } : {}), ...(check?.size !== undefined ? { size: check.size } : {}) }, { hashInProcess: true, ...(check?.mismatch ? { mismatch: report(check.mismatch) } : {}) }),
    putImage: async ({ configBytes, ...img }) => ({ manifestDigest: (await store.putImage({ config: configBytes, ...img })).manifestDigest }),
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
      // `store` is open, so its module is loaded: this resolves at once.
      const staging = loadStore().then(({ StoreDestination }) => new StoreDestination(store));
      const expect = (digest: Digest, size: number | undefined) => ({ digest, ...(size !== undefined ? { size } : {}) });
      return {
        putBlob: async (src, expected, mismatch, size) => (await staging).putBlob(src, expect(expected, size), { hashInProcess: true, mismatch: report(mismatch) }),
        putBlobFile: async (write, expected, mismatch, size) => (await staging).adoptBlob(write, expect(expected, size), { mismatch: report(mismatch) }),
        commit: async (img) => {
          const [r] = await (await staging).commitPending([img]);
          return { manifestDigest: r!.manifestDigest };
        },
        abort: async () => (await staging).abort(),
      };
    },
    recordLayer: (r) => recordPulledLayer(store.paths, r),
    knownGzip: (diffId) => knownGzip(store.paths, diffId),
    compressedLayer: async (diffId, sink) => {
      const info = await (await loadStore()).compressLayer(store, diffId, sink);
      return { ...info, mediaType: MediaType.OCI_LAYER_GZIP, open: () => store.openBlob(info.digest) };
    },
  };
}
