// Lint configuration from the `# check=` parser directive (BuildKit's ParseLintOptions),
// `BUILDKIT_DOCKERFILE_CHECK`, per-instruction `# check=` and `# tbuild-lint ignore=` comments.
// Pure: text in, values out.

/** What `# check=skip=…;error=…;experimental=…` says. */
export interface CheckConfig {
  readonly skipAll: boolean;
  readonly skip: ReadonlySet<string>;
  /** `error=true`: every finding becomes an error (BuildKit's ReturnAsError). */
  readonly error: boolean;
  readonly experimentalAll: boolean;
  readonly experimental: ReadonlySet<string>;
}

export const EMPTY_CHECK_CONFIG: CheckConfig = {
  skipAll: false,
  skip: new Set(),
  error: false,
  experimentalAll: false,
  experimental: new Set(),
};

/** A `# check=` value that could not be read: BuildKit fails the build; lint reports it. */
export class CheckConfigError extends Error {}

const BOOL_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const BOOL_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * Parse a check value: `skip=A,B|all`, `error=true|false`, `experimental=A,B|all`, joined by
 * `;`. Throws CheckConfigError on a malformed option, as BuildKit does.
 */
export function parseCheckConfig(value: string): CheckConfig {
  const text = value.trim();
  if (text === "") return EMPTY_CHECK_CONFIG;
  let skipAll = false;
  let error = false;
  let experimentalAll = false;
  const skip = new Set<string>();
  const experimental = new Set<string>();
  for (const part of text.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) throw new CheckConfigError(`invalid check option "${part}"`);
    const key = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    switch (key) {
      case "skip":
        if (v === "all") skipAll = true;
        else for (const r of v.split(",")) if (r.trim()) skip.add(r.trim());
        break;
      case "experimental":
        if (v === "all") experimentalAll = true;
        else for (const r of v.split(",")) if (r.trim()) experimental.add(r.trim());
        break;
      case "error":
        if (BOOL_TRUE.has(v)) error = true;
        else if (BOOL_FALSE.has(v)) error = false;
        else throw new CheckConfigError(`failed to parse check option "${part}": invalid syntax`);
        break;
      default:
        throw new CheckConfigError(`invalid check option "${key}"`);
    }
  }
  return { skipAll, skip, error, experimentalAll, experimental };
}

/**
 * A `check=` comment directly above one instruction applies to that instruction only
 * (`# check=skip=SecretsUsedInArgOrEnv // why`): only the first word after `check=` counts.
 * Returns the rules it skips (`all` included as "all"), or undefined when the comment is not one.
 */
export function instructionCheckSkips(commentText: string): ReadonlySet<string> | undefined {
  const m = /^check\s*=\s*(\S*)/.exec(commentText.trim());
  if (!m) return undefined;
  try {
    const cfg = parseCheckConfig(m[1]!);
    return cfg.skipAll ? new Set(["all"]) : cfg.skip;
  } catch {
    return undefined;
  }
}

/**
 * tbuild's own inline suppression: `# tbuild-lint ignore=Rule1,Rule2` (or `ignore=all`) on the
 * comment line directly above an instruction. Returns the rule names, or undefined.
 */
export function inlineIgnores(commentText: string): ReadonlySet<string> | undefined {
  const m = /^tbuild-lint\s+ignore\s*=\s*([A-Za-z0-9_,\s]+)/.exec(commentText.trim());
  if (!m) return undefined;
  return new Set(m[1]!.split(/[\s,]+/).filter(Boolean));
}
