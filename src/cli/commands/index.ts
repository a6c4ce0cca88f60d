// The command table. Each entry loads its module lazily, so `tbuild --version` and a
// single command only pay for what they use. Add a command: one line here plus its file.
import type { CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";

export interface CommandModule {
  readonly spec: CommandSpec;
  run(ctx: CommandContext): Promise<number>;
}

export interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<CommandModule>;
  /** Shown in the top-level help under this heading. */
  readonly group: "build" | "images" | "registry" | "other";
  readonly hidden?: boolean;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  parse: { group: "build", summary: "Parse a Dockerfile and print its syntax tree", load: () => import("./parse.js") },
  lint: { group: "build", summary: "Check Dockerfiles for mistakes, BuildKit warnings and image bloat", load: () => import("./lint.js") },
  pull: { summary: "Download an image from a registry", group: "registry", load: () => import("./pull.js") },
  push: { summary: "Upload an image to a registry", group: "registry", load: () => import("./push.js") },
  login: { summary: "Log in to a registry", group: "registry", load: () => import("./login.js") },
  logout: { summary: "Log out from a registry", group: "registry", load: () => import("./logout.js") },
  context: { summary: "List or hash what a build would send from a context", group: "build", load: () => import("./context.js") },

};

/** Two-word and alias forms mapped to table names (`image ls` → `images`). */
export const ALIASES: Readonly<Record<string, string>> = {};
