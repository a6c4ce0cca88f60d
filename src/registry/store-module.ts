// The store's module as registry/ reaches it at run time: loaded on first use, so importing
// registry/ (what a pull's first request waits for) does not load the store's ~40 modules;
// they load while the manifest is fetched (the CLI opens the store meanwhile), and any
// later call finds them loaded. registry/ imports store values only through this.
export const loadStore = (): Promise<typeof import("../store/index.js")> => import("../store/index.js");
