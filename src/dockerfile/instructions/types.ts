// The strictly decoded instructions: a discriminated union on `kind`, each carrying the
// syntax node it came from (ranges, raw text, heredocs). Values stay unexpanded.
import type { Arg, Flag, Heredoc, Instruction, KeyValue, Token } from "../ast.js";
import type { Mount } from "./run-mount.js";

interface Base {
  /** The syntax node (keyword, flags, args, raw text, heredocs, ranges). */
  readonly node: Instruction;
  readonly range: Instruction["range"];
}

/** Shell form keeps one argument (the whole command text); exec form one per JSON element. */
export interface CommandLine {
  readonly form: "shell" | "exec";
  readonly args: readonly Arg[];
}

export interface FromCommand extends Base {
  readonly kind: "from";
  readonly image: Arg;
  /** `AS name` (the name as written). */
  readonly stageName?: Arg;
  readonly platform?: Flag;
}

export interface RunCommand extends Base, CommandLine {
  readonly kind: "run";
  readonly mounts: readonly Mount[];
  readonly network?: "default" | "none" | "host";
  readonly security?: "sandbox" | "insecure";
  readonly heredocs: readonly Heredoc[];
}

export interface CopyCommand extends Base {
  readonly kind: "copy" | "add";
  /** Sources as written; heredoc sources (`<<EOF`) are in `heredocs` instead. */
  readonly sources: readonly Arg[];
  readonly dest: Arg;
  readonly heredocs: readonly Heredoc[];
  readonly json: boolean;
  readonly from?: Flag;
  readonly chown?: Flag;
  readonly chmod?: Flag;
  readonly link: boolean;
  readonly parents: boolean;
  readonly exclude: readonly Flag[];
  /** ADD only. */
  readonly checksum?: Flag;
  readonly keepGitDir: boolean;
  readonly unpack?: boolean;
}

export interface EnvCommand extends Base {
  readonly kind: "env" | "label";
  readonly pairs: readonly (KeyValue & { readonly value: string })[];
}

export interface ArgCommand extends Base {
  readonly kind: "arg";
  readonly pairs: readonly KeyValue[];
}

export interface CmdCommand extends Base, CommandLine {
  readonly kind: "cmd" | "entrypoint";
}

export interface ShellCommand extends Base {
  readonly kind: "shell";
  readonly args: readonly Arg[];
}

export interface HealthcheckCommand extends Base {
  readonly kind: "healthcheck";
  /** `NONE` disables the inherited check; `CMD` sets one. */
  readonly test: "none" | "cmd";
  readonly command?: CommandLine;
  readonly interval?: Flag;
  readonly timeout?: Flag;
  readonly startPeriod?: Flag;
  readonly startInterval?: Flag;
  readonly retries?: Flag;
  /** Parsed durations in milliseconds and retries, for the flags given. */
  readonly values: { readonly interval?: number; readonly timeout?: number; readonly startPeriod?: number; readonly startInterval?: number; readonly retries?: number };
}

export interface OnbuildCommand extends Base {
  readonly kind: "onbuild";
  /** The trigger, decoded (never ONBUILD, FROM or MAINTAINER). */
  readonly trigger: Command;
  /** The trigger's text as written (what the image config stores). */
  readonly expression: string;
}

export interface SimpleCommand extends Base {
  readonly kind: "workdir" | "user" | "stopsignal" | "maintainer";
  readonly value: Arg;
}

export interface ListCommand extends Base {
  readonly kind: "expose" | "volume";
  readonly values: readonly Arg[];
}

export type Command =
  | FromCommand | RunCommand | CopyCommand | EnvCommand | ArgCommand | CmdCommand | ShellCommand
  | HealthcheckCommand | OnbuildCommand | SimpleCommand | ListCommand;

export type { Token };
