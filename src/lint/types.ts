// The values lint works with: its options, its findings (Diagnostics with a rule code, a
// location and, when fixable, the text edits that fix them).
import type { Diagnostic, Severity, SourceLocation } from "../util/index.js";

/** Replace `text.slice(start, end)` with `newText` (offsets into the linted text). */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly newText: string;
}

/** One lint finding: a Diagnostic whose `code` is the rule name. */
export interface LintDiagnostic extends Diagnostic {
  readonly location: SourceLocation;
  /** Edits that fix it without changing the build's meaning (`tbuild lint --fix`). */
  readonly fix?: readonly TextEdit[];
}

export interface LintOptions {
  /** The file name put in locations (default `Dockerfile`). */
  readonly file?: string;
  /**
   * Is this context path excluded by `.dockerignore`? Enables CopyIgnoredFile. Pass it only
   * when a context is known and its `.dockerignore` has no `!` exception (BuildKit's rule).
   * `path` is cleaned and relative to the context root (`Dockerfile`, `src/a.ts`, `.`).
   */
  readonly isIgnored?: (path: string) => boolean;
  /**
   * True when the `.dockerignore` excludes the whole context root (`*`, `**`, `**\/*`): only
   * then does a `COPY .` warn (BuildKit's copySourceRootIgnored).
   */
  readonly rootIgnored?: boolean;
  /**
   * The environment (`Env` of the image config) of an external base image, when the caller
   * knows it (a build has pulled it). Without it, UndefinedVar assumes such a stage starts
   * with PATH only, as a lint run cannot see the image (`$GOPATH` on `golang` is reported).
   */
  readonly baseImageEnv?: (image: string) => Readonly<Record<string, string>> | undefined;
  /** `--build-arg` values. `BUILDKIT_DOCKERFILE_CHECK` replaces the file's `# check=` directive. */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** Rules never reported (`--ignore`). */
  readonly ignore?: Iterable<string>;
  /** Drop findings below this severity (default: keep all). */
  readonly minSeverity?: Severity;
  /**
   * Check only the stages the build of this target reaches (what a build reports); default
   * is every stage (a lint-only run).
   */
  readonly target?: string;
}
