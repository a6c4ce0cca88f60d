// registry: the OCI distribution client (client.ts), credentials and token auth (auth.ts),
// and pull/push as copies between a registry and the store (transfer.ts).
export { RegistryClient, isRetryable, pullScope, pushScope } from "./client.js";
export type { RegistryClientOptions, FetchedManifest, BlobBody, UploadOptions, UploadResult } from "./client.js";
export {
  authFilePath,
  dockerConfigPath,
  defaultCredentials,
  saveCredentials,
  removeCredentials,
  runCredentialHelper,
  parseChallenges,
  normalizeHost,
  registryKey,
} from "./auth.js";
export type { Credentials, CredentialSource, Challenge, Env } from "./auth.js";
export { pullImage, pushImage, hostPlatform, mapLimit } from "./transfer.js";
export type { TransferEvent, LayerStatus, TransferOptions, PullOptions, PullResult, PushOptions, PushResult } from "./transfer.js";
export type { TransferStore, TransferSession, StoredBlob, CompressedLayer, LocalImage } from "./store-port.js";
export { storeTransfer } from "./store-adapter.js";
export { MANIFEST_ACCEPT, selectPlatform } from "./types.js";
export { CACHE_MEDIA_TYPE, DIFF_ID_ANNOTATION, ImportedCache, cacheBackend, exportCache, importCache, parseCacheSpec } from "./cache.js";
export type { CacheEntry, CacheLayer, CacheManifest, CacheSpec, ExportCacheResult } from "./cache.js";
export { localBackend, registryBackend, type BlobRef, type CacheBackend } from "./cache-backends.js";
