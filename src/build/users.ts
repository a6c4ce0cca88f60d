// build/users.ts: USER and --chown names → numeric ids, read from the parent rootfs's
// /etc/passwd and /etc/group (as BuildKit and runc do). Numeric ids need no rootfs. The
// rootfs is a folder on disk or a RootView (a layer chain read from its tar headers).
import { TbuildError } from "../util/index.js";
import { HostRootView, type RootView } from "./root-view.js";

/** A root file system: unpacked on disk, or a view of one. */
export type RootfsLike = string | RootView | undefined;

export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups the user is listed in (RUN only). */
  readonly additionalGids: readonly number[];
  readonly home?: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

async function readLines(rootfs: RootfsLike, file: string): Promise<string[][]> {
  if (rootfs === undefined) return [];
  const view = typeof rootfs === "string" ? new HostRootView(rootfs) : rootfs;
  const text = await view.readText(file).catch(() => undefined);
  if (text === undefined) return [];
  return text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")).map((l) => l.split(":"));
}

async function passwd(rootfs: RootfsLike): Promise<PasswdEntry[]> {
  return (await readLines(rootfs, "etc/passwd")).flatMap((f) => (f.length >= 4 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!) ? [{ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? "/" }] : []));
}

async function groups(rootfs: RootfsLike): Promise<GroupEntry[]> {
  return (await readLines(rootfs, "etc/group")).flatMap((f) => (f.length >= 3 && /^\d+$/.test(f[2]!) ? [{ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? "").split(",").filter(Boolean) }] : []));
}

const isId = (s: string): boolean => /^\d+$/.test(s);

/** Whether `spec` (`user[:group]`) can be resolved without reading a rootfs. */
function isNumericUser(spec: string): boolean {
  const [u, g] = spec.split(":", 2) as [string, string | undefined];
  return (u === "" || isId(u)) && (g === undefined || isId(g));
}

/**
 * Resolve `user[:group]` against the rootfs. An empty spec is root. A name that the image
 * does not define is E_EXEC_USER. Without a group: the user's primary group (or the uid
 * itself for an id the image does not list, as BuildKit does for --chown).
 */
export async function resolveUser(spec: string, rootfs: RootfsLike, what: string): Promise<ResolvedUser> {
  if (spec === "" || spec === "root") return { uid: 0, gid: 0, additionalGids: [], home: "/root" };
  const i = spec.indexOf(":");
  const u = i < 0 ? spec : spec.slice(0, i);
  const g = i < 0 ? undefined : spec.slice(i + 1);
  const users = isNumericUser(spec) ? [] : await passwd(rootfs);
  const grps = g !== undefined && !isId(g) ? await groups(rootfs) : [];
  let uid: number;
  let gid: number;
  let home: string | undefined;
  if (isId(u)) {
    uid = Number(u);
    const pw = users.find((p) => p.uid === uid);
    gid = pw ? pw.gid : uid;
    home = pw?.home;
  } else {
    const pw = users.find((p) => p.name === u);
    if (!pw) throw new TbuildError("E_EXEC_USER", `${what}: unable to find user ${u}: no matching entries in passwd file`, { hint: "create the user in an earlier RUN (adduser), or use a numeric id" });
    uid = pw.uid;
    gid = pw.gid;
    home = pw.home;
  }
  if (g !== undefined && g !== "") {
    if (isId(g)) gid = Number(g);
    else {
      const gr = grps.find((x) => x.name === g);
      if (!gr) throw new TbuildError("E_EXEC_USER", `${what}: unable to find group ${g}: no matching entries in group file`, { hint: "create the group first, or use a numeric id" });
      gid = gr.gid;
    }
  }
  let additionalGids: number[] = [];
  if (!isId(u)) {
    const all = grps.length ? grps : await groups(rootfs);
    additionalGids = all.filter((x) => x.members.includes(u) && x.gid !== gid).map((x) => x.gid);
  }
  return { uid, gid, additionalGids, ...(home !== undefined ? { home } : {}) };
}
