// One error shape from the lexer to the CLI (STYLE.md "Errors"): a stable code, a message,
// the innermost known source location and a one-line hint. Warnings are values, not throws.
import type { SourceLocation } from "./range.js";

/** Every error code tbuild emits, with a one-line description (containers/storage's errors.go). */
export const ERROR_CODES = {
  E_USAGE: "the command line is wrong (unknown flag, missing argument)",
  E_INTERNAL: "a bug in tbuild: please report it",
  E_PARSE_EMPTY: "the Dockerfile has no instructions",
  E_PARSE_UNKNOWN_INSTRUCTION: "a line starts with a word that is not a Dockerfile instruction",
  E_PARSE_UNKNOWN_FLAG: "an instruction has a flag it does not accept",
  E_PARSE_BAD_FLAG: "a flag's value is malformed",
  E_PARSE_MISSING_ARGS: "an instruction lacks required arguments",
  E_PARSE_BAD_ARGS: "an instruction's arguments are malformed",
  E_PARSE_BAD_JSON: "an exec-form (JSON) argument list is malformed",
  E_PARSE_HEREDOC: "a heredoc is malformed or unterminated",
  E_PARSE_DIRECTIVE: "a parser directive is invalid",
  E_PARSE_ONBUILD: "ONBUILD wraps an instruction it may not",
  E_PARSE_LIMIT: "the Dockerfile exceeds a size limit (16 MiB, 65,535-byte lines, 10,000 instructions, ONBUILD depth, 5,000 stages)",
  E_SHELL_SYNTAX: "a variable expansion is malformed",
  E_SHELL_UNSET: "a ${VAR:?message} expansion found VAR unset or empty",
  E_SHELL_LIMIT: "a word nests ${...} expansions deeper than the limit",
  E_ARG_UNDEFINED: "an ARG is used but not defined",
  E_PLAN_NO_STAGE: "a stage name or index does not exist",
  E_PLAN_DUPLICATE_STAGE: "two stages have the same name",
  E_PLAN_CYCLE: "stages depend on each other in a cycle",
  E_PLAN_PLATFORM: "the requested platform is not supported",
  E_PLAN_INVALID: "an instruction cannot be planned",
  E_CONTEXT_NOT_FOUND: "the build context or a source in it does not exist",
  E_CONTEXT_ESCAPE: "a path leaves the build context",
  E_CONTEXT_IGNORE: "a .dockerignore pattern is malformed",
  E_CONTEXT_CHANGED: "the build context changed while it was read",
  E_COPY_NO_SOURCE: "a COPY/ADD source matches no file",
  E_COPY_DEST: "a COPY/ADD destination is invalid for its sources",
  E_EXEC_RUNTIME: "the sandbox runtime failed",
  E_EXEC_USER: "a USER or --chown name cannot be resolved",
  E_RUN_EXIT: "a RUN command exited with a non-zero status",
  E_RUN_SECRET: "a RUN --mount=type=secret names a required secret the build was not given",
  E_RUN_MOUNT: "a RUN --mount source cannot be prepared (missing, outside its root, or unsupported)",
  E_FETCH: "a remote source could not be fetched or failed its checksum",
  E_STORE_CORRUPT: "the store has a blob or index that does not verify",
  E_STORE_LOCKED: "the store lock could not be taken",
  E_STORE_NOT_FOUND: "no image matches the given name or ID",
  E_STORE_CONFLICT: "the operation would remove an image still in use",
  E_STORE_UNSUPPORTED: "a stored layer is in a format tbuild cannot read (an unknown media type, a zstd window over 32 MiB)",
  E_REF_INVALID: "an image reference is malformed",
  E_ARCHIVE_INVALID: "an image archive is malformed or a digest does not verify",
  E_TAR_PATH_ESCAPE: "a tar entry would be written outside its target directory",
  E_TAR_INVALID: "a tar entry is malformed or not allowed",
  E_REGISTRY: "a registry request failed",
  E_REGISTRY_AUTH: "a registry refused the credentials",
  E_REGISTRY_DIGEST: "a registry sent bytes that do not match their digest",
  E_LINT: "lint findings at or above the threshold",
  E_INTERRUPTED: "the operation was interrupted",
  E_IO: "a file-system operation failed",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface TbuildErrorOptions {
  location?: SourceLocation;
  hint?: string;
  cause?: unknown;
}

/** The one error type tbuild throws on purpose. Anything else reaching the CLI is a bug. */
export class TbuildError extends Error {
  override readonly name = "TbuildError";
  readonly code: ErrorCode;
  location?: SourceLocation;
  hint?: string;

  constructor(code: ErrorCode, message: string, opts: TbuildErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    if (opts.location) this.location = opts.location;
    if (opts.hint) this.hint = opts.hint;
  }

  /**
   * A TbuildError collected into a list (every error of a decode) rather than thrown where
   * it is made: no stack trace is captured, since it would only show the collector and a
   * file of 100k broken lines made one per line. Code, message, location and hint as `new`.
   */
  static collected(code: ErrorCode, message: string, opts: TbuildErrorOptions = {}): TbuildError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new TbuildError(code, message, opts);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

export function isTbuildError(e: unknown): e is TbuildError {
  return e instanceof TbuildError;
}

/**
 * Attach `location` (and `hint`) to `e` only where it has none yet, so the innermost
 * location wins (BuildKit's WithLocation vs SetLocation). Non-TbuildErrors pass through.
 */
export function withLocation<E>(e: E, location: SourceLocation, hint?: string): E {
  if (e instanceof TbuildError) {
    if (!e.location) e.location = location;
    if (hint && !e.hint) e.hint = hint;
  }
  return e;
}

export type Severity = "error" | "warning" | "info";

/** A warning or finding: returned in lists, never thrown (STYLE.md example 10). */
export interface Diagnostic {
  readonly severity: Severity;
  /** A stable code: an E_* error code, or a lint rule name such as `JSONArgsRecommended`. */
  readonly code: string;
  readonly message: string;
  readonly location?: SourceLocation;
  readonly hint?: string;
  readonly url?: string;
}
