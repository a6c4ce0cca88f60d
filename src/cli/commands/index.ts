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
  build: { group: "build", summary: "Build an image from a Dockerfile", load: () => import("./build.js") },
  parse: { group: "build", summary: "Parse a Dockerfile and print its syntax tree", load: () => import("./parse.js") },
  lint: { group: "build", summary: "Check Dockerfiles for mistakes, BuildKit warnings and image bloat", load: () => import("./lint.js") },
  pull: { summary: "Download an image from a registry", group: "registry", load: () => import("./pull.js") },
  push: { summary: "Upload an image to a registry", group: "registry", load: () => import("./push.js") },
  login: { summary: "Log in to a registry", group: "registry", load: () => import("./login.js") },
  logout: { summary: "Log out from a registry", group: "registry", load: () => import("./logout.js") },
  context: { summary: "List or hash what a build would send from a context", group: "build", load: () => import("./context.js") },
  plan: { summary: "Show the steps, cache keys and layers a build would make", group: "build", load: () => import("./plan.js") },
  images: { summary: "List images in the store", group: "images", load: () => import("./images.js") },
  tag: { summary: "Create a tag that refers to an image", group: "images", load: () => import("./tag.js") },
  rmi: { summary: "Remove images", group: "images", load: () => import("./rmi.js") },
  history: { summary: "Show the history of an image", group: "images", load: () => import("./history.js") },
  inspect: { summary: "Show details of images as JSON", group: "images", load: () => import("./inspect.js") },
  save: { summary: "Save images to a tar archive", group: "images", load: () => import("./save.js") },
  load: { summary: "Load images from a tar archive", group: "images", load: () => import("./load.js") },
  import: { summary: "Create an image from a root file system tar", group: "images", load: () => import("./import.js") },
  prune: { summary: "Remove dangling images and unused blobs", group: "images", load: () => import("./prune.js") },
  df: { summary: "Show the store's disk usage", group: "images", load: () => import("./df.js") },
  store: { summary: "Check the store for corruption and leftovers (store check [--repair])", group: "other", load: () => import("./store.js") },

};

/** Two-word and alias forms mapped to table names (`image ls` → `images`). */
export const ALIASES: Readonly<Record<string, string>> = {
  "image ls": "images",
  "image list": "images",
  "image rm": "rmi",
  "image tag": "tag",
  "image history": "history",
  "image inspect": "inspect",
  "image save": "save",
  "image load": "load",
  "image import": "import",
  "image prune": "prune",
  "system df": "df",
};
