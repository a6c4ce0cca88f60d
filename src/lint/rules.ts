// The lint rule table: every rule tbuild knows, as data (name, severity, one-line
// description, documentation URL). run.ts dispatches the checks; RULES.md documents them.
import type { Severity } from "../util/index.js";

/** Where a rule comes from: BuildKit's own checks, best practice (hadolint's best-known), image weight. */
export type RuleCategory = "buildkit" | "practice" | "weight";

/** One lint rule, as data. */
export interface RuleSpec {
  readonly name: string;
  readonly severity: Severity;
  readonly category: RuleCategory;
  /** One line, shown in docs and SARIF `shortDescription`. */
  readonly description: string;
  /** The rule's id as a URL: BuildKit's docs for BuildKit's rules, RULES.md anchors for ours. */
  readonly url: string;
  /** Runs only when enabled with `# check=experimental=<Name>|all` (BuildKit's rule). */
  readonly experimental?: boolean;
  /** `tbuild lint --fix` can rewrite it without changing meaning. */
  readonly fixable?: boolean;
}

const BK = "https://docs.docker.com/go/dockerfile/rule/";
/** Base of tbuild's own rule ids; each is an anchor in src/lint/RULES.md. */
export const RULES_DOC_URL = "https://github.com/tbuild/tbuild/blob/main/src/lint/RULES.md";

function bk(name: string, slug: string, description: string, extra: Partial<RuleSpec> = {}): RuleSpec {
  return { name, severity: "warning", category: "buildkit", description, url: `${BK}${slug}/`, ...extra };
}

function own(name: string, category: RuleCategory, severity: Severity, description: string, extra: Partial<RuleSpec> = {}): RuleSpec {
  return { name, severity, category, description, url: `${RULES_DOC_URL}#${name.toLowerCase()}`, ...extra };
}

/** Every rule, in documentation order. Names are stable: they appear in `# check=skip=` and `--ignore`. */
export const RULES: readonly RuleSpec[] = [
  // BuildKit's checks: names, descriptions and URLs exactly as BuildKit's linter/ruleset.go.
  bk("StageNameCasing", "stage-name-casing", "Stage names should be lowercase"),
  bk("FromAsCasing", "from-as-casing", "The 'as' keyword should match the case of the 'from' keyword", { fixable: true }),
  bk("NoEmptyContinuation", "no-empty-continuation", "Empty continuation lines will become errors in a future release"),
  bk("ConsistentInstructionCasing", "consistent-instruction-casing", "All commands within the Dockerfile should use the same casing (either upper or lower)", { fixable: true }),
  bk("DuplicateStageName", "duplicate-stage-name", "Stage names should be unique"),
  bk("ReservedStageName", "reserved-stage-name", "Reserved words should not be used as stage names"),
  bk("JSONArgsRecommended", "json-args-recommended", "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals", { fixable: true }),
  bk("MaintainerDeprecated", "maintainer-deprecated", "The MAINTAINER instruction is deprecated, use a label instead to define an image author", { fixable: true }),
  bk("UndefinedArgInFrom", "undefined-arg-in-from", "FROM command must use declared ARGs"),
  bk("WorkdirRelativePath", "workdir-relative-path", "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes"),
  bk("UndefinedVar", "undefined-var", "Variables should be defined before their use"),
  bk("MultipleInstructionsDisallowed", "multiple-instructions-disallowed", "Multiple instructions of the same type should not be used in the same stage"),
  bk("LegacyKeyValueFormat", "legacy-key-value-format", "Legacy key/value format with whitespace separator should not be used", { fixable: true }),
  bk("InvalidBaseImagePlatform", "invalid-base-image-platform", "Base image platform does not match expected target platform", {
    // BuildKit publishes no page for it; it needs the pulled image's platform, so `tbuild lint` never reports it.
    url: `${RULES_DOC_URL}#invalidbaseimageplatform`,
  }),
  bk("RedundantTargetPlatform", "redundant-target-platform", "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior"),
  bk("SecretsUsedInArgOrEnv", "secrets-used-in-arg-or-env", "Sensitive data should not be used in the ARG or ENV commands"),
  bk("InvalidDefaultArgInFrom", "invalid-default-arg-in-from", "Default value for global ARG results in an empty or invalid base image name"),
  bk("FromPlatformFlagConstDisallowed", "from-platform-flag-const-disallowed", "FROM --platform flag should not use a constant value"),
  bk("CopyIgnoredFile", "copy-ignored-file", "Attempting to Copy file that is excluded by .dockerignore"),
  bk("InvalidDefinitionDescription", "invalid-definition-description", "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.", { experimental: true }),
  bk("ExposeProtoCasing", "expose-proto-casing", "Protocol in EXPOSE instruction should be lowercase"),
  bk("ExposeInvalidFormat", "expose-invalid-format", "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release"),

  // Best practice (hadolint's best-known checks, in tbuild's names).
  own("BaseImageUntagged", "practice", "warning", "Pin the base image with a tag or digest; an untagged image means whatever `latest` is today"),
  own("BaseImageLatest", "practice", "warning", "Do not use the `latest` tag for a base image; pin a version"),
  own("AptGetMissingYes", "practice", "warning", "`apt-get install` needs `-y` (or `--yes`, `-qq`) to run without a prompt"),
  own("AptGetMissingNoInstallRecommends", "practice", "info", "`apt-get install` without `--no-install-recommends` pulls in packages the image does not need"),
  own("AptGetListsNotCleaned", "practice", "warning", "`apt-get install` should be followed by `rm -rf /var/lib/apt/lists/*` in the same RUN"),
  own("AptGetUpdateAlone", "practice", "warning", "`apt-get update` alone in a RUN is cached and goes stale; run it with `apt-get install` in one RUN"),
  own("PipUnpinned", "practice", "warning", "Pin `pip install` packages (`pkg==1.2.3`) or install from a requirements file"),
  own("ApkAddMissingNoCache", "practice", "warning", "Use `apk add --no-cache` so the package index does not stay in the layer"),
  own("CdInsteadOfWorkdir", "practice", "info", "Use WORKDIR to change directory rather than `cd` in a RUN"),
  own("AddInsteadOfCopy", "practice", "warning", "Use COPY for local files and folders; ADD is for URLs, git sources and archives to extract"),
  own("SudoInRun", "practice", "warning", "Do not use `sudo` in RUN: steps already run as the USER; switch with USER instead"),
  own("PipeWithoutPipefail", "practice", "warning", "A RUN with a pipe should `set -o pipefail` (or use a SHELL with it) so a failing first command fails the step"),
  own("CopyFromUnknownStage", "practice", "warning", "COPY --from names a stage that is not defined before it; it would be pulled as an image"),
  own("CopyFromSelf", "practice", "error", "COPY --from refers to the stage it is in"),
  own("UseraddHighUidWithoutL", "practice", "warning", "`useradd` with a high UID needs `-l` (`--no-log-init`), or the lastlog file makes the layer huge"),
  own("ExposeInvalidPort", "practice", "error", "EXPOSE port outside 0-65535"),

  // Image weight.
  own("RemovedInLaterStep", "weight", "warning", "A file added in one step and deleted in a later step of the same stage still takes space in the image"),
  own("PackageCacheInLayer", "weight", "warning", "A package manager's cache is left in the layer that created it"),
  own("ConsecutiveRunSteps", "weight", "info", "Several consecutive RUN steps could be one RUN, saving layers"),
];

/** Rules by name. */
export const RULES_BY_NAME: ReadonlyMap<string, RuleSpec> = new Map(RULES.map((r) => [r.name, r]));

/** The rule named `name`; throws on a typo in tbuild's own code (a bug, not user input). */
export function rule(name: string): RuleSpec {
  const r = RULES_BY_NAME.get(name);
  if (!r) throw new Error(`unknown lint rule ${name}`);
  return r;
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, error: 2 };

/** True when `s` is at or above `threshold` (error > warning > info). */
export function atOrAbove(s: Severity, threshold: Severity): boolean {
  return SEVERITY_RANK[s] >= SEVERITY_RANK[threshold];
}
