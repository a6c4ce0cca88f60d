// Image references live in util/reference.ts, where lint (which may not import image/) reads
// the same grammar; image/ keeps its API by re-exporting them.
export {
  DEFAULT_DOMAIN,
  DEFAULT_TAG,
  LEGACY_DEFAULT_DOMAIN,
  NAME_TOTAL_LENGTH_MAX,
  OFFICIAL_REPO_PREFIX,
  checkReference,
  familiarName,
  familiarRepository,
  familiarString,
  formatReference,
  isValidTag,
  normalizeReference,
  parseReference,
  repositoryName,
  type ParseReferenceOptions,
  type Reference,
  type ReferenceCheck,
  type ReferenceProblem,
} from "../util/index.js";
