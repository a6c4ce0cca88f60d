// build/pull-base.ts: FROM that pulls. A base image the store lacks is pulled from its
// registry (credentials from tbuild's auth file, then Docker's config.json); with `--pull`
// the registry is asked every time and a newer image replaces the tag (Docker's
// `build --pull`). Only the manifest and config travel when nothing changed.
import { TbuildError, isTbuildError } from "../util/index.js";
import { formatPlatform, type Platform } from "../image/index.js";
import type { Store, StoredImage } from "../store/index.js";
import type { Env } from "../registry/index.js";

export interface PullBaseOptions {
  /** Pull what the store lacks (false for --dry-run: nothing is downloaded). */
  readonly pull: boolean;
  /** `--pull`: ask the registry even when the store has the tag. */
  readonly always?: boolean;
  /** --tls-verify: as RegistryClientOptions.tlsVerify (undefined: not given). */
  readonly tlsVerify?: boolean;
  readonly env: Env;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

/**
 * The store's image for the normalised reference `norm`, pulling it when missing (or
 * always, with `always`). Undefined when it is missing and pulling is off. A failed pull
 * throws E_REGISTRY naming the image, with the registry's reason.
 */
export async function findOrPullBase(store: Store, norm: string, platform: Platform, o: PullBaseOptions): Promise<StoredImage | undefined> {
  const local = await store.find(norm);
  if (!o.pull || (local && !o.always)) return local;
  o.log?.(local ? `checking ${norm} for a newer image` : `pulling ${norm}`);
  // registry/ is loaded only when a pull happens: a build from the store never loads it.
  const { defaultCredentials, pullImage, storeTransfer } = await import("../registry/index.js");
  let pulled;
  try {
    pulled = await pullImage(storeTransfer(store), norm, {
      credentials: defaultCredentials(o.env),
      platform: formatPlatform(platform),
      ...(o.tlsVerify !== undefined ? { tlsVerify: o.tlsVerify } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (e) {
    const why = isTbuildError(e) ? e.message : (e as Error).message;
    throw new TbuildError("E_REGISTRY", `${norm}: ${local ? "could not check for a newer image" : "not in the store and could not be pulled"}: ${why}`, {
      cause: e,
      hint: local ? "drop --pull to build from the image in the store" : "import or load the image first (tbuild import / tbuild load), or check the name, your login and your network",
    });
  }
  if (local && pulled.manifestDigest !== local.manifestDigest) o.log?.(`${norm}: pulled a newer image ${pulled.imageId}`);
  // A digest reference names the registry's manifest; the store knows the image by its own.
  return store.find(pulled.manifestDigest);
}
