// shell: Dockerfile word expansion (BuildKit's frontend/dockerfile/shell) and the ordered
// environment it reads. Used by dockerfile/ (heredoc words), plan/ and lint/. Pure.
export {
  expandWord,
  expandWordMatches,
  tryExpandWordMatches,
  processWord,
  processWords,
  DEFAULT_MAX_DEPTH,
  type ExpandResult,
  type WordMatches,
  type ShellOptions,
  type WordOrigin,
} from "./lex.js";
export {
  envKeysEqual,
  parseEnvEntry,
  parseEnvList,
  formatEnvList,
  lookupEnv,
  hasEnv,
  setEnv,
  removeEnv,
  mergeEnv,
  envKeys,
  envToMap,
  type EnvEntry,
  type Environment,
  type EnvSource,
  type EnvOptions,
} from "./env.js";
export { parseGlob, matchPrefix, trimPrefix, trimSuffix, searchGlob, replaceGlob, type GlobToken, type ClassItem, type GlobOptions } from "./glob.js";
