/**
 * Output folders (`--out`): checked before anything is created or computed, so that a folder that
 * cannot be made or written is one line naming the path and the reason (exit 2), never a hang —
 * Node's recursive mkdir loops forever where mkdir(2) answers ENOENT for a parent that exists
 * (/proc), so nothing is created until the first existing ancestor is known to be a writable
 * folder on a filesystem that holds files.
 */
import { accessSync, constants, mkdirSync, statSync, statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError } from "./config.js";

/** Linux pseudo-filesystems (statfs f_type, <linux/magic.h>): kernel state, not a place for files. */
const SPECIAL_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, "proc"], [0x62656572, "sysfs"], [0x27e0eb, "cgroup"], [0x63677270, "cgroup2"],
  [0x64626720, "debugfs"], [0x74726163, "tracefs"], [0x73636673, "securityfs"], [0x1cd1, "devpts"],
  [0xcafe4a11, "bpf"], [0x6165676c, "pstore"], [0x62656570, "configfs"], [0xde5e81e4, "efivarfs"],
  [0xf97cff8c, "selinuxfs"], [0x42494e4d, "binfmt_misc"], [0x65735543, "fusectl"], [0x6e736673, "nsfs"],
]);

const ERRNO_WORDS: Readonly<Record<string, string>> = {
  EACCES: "permission denied", EPERM: "operation not permitted", EROFS: "read-only filesystem",
  ENOSPC: "no space left on device", EDQUOT: "disk quota exceeded", ENOTDIR: "not a folder",
  EEXIST: "already exists", EISDIR: "is a folder", ENAMETOOLONG: "name too long", ELOOP: "too many symbolic links",
  EIO: "input/output error", ENOENT: "no such file or folder",
};

/** An errno code in words: `EROFS (read-only filesystem)`. */
export function errnoWords(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (!code) return (e as Error)?.message ?? String(e);
  return ERRNO_WORDS[code] ? `${code} (${ERRNO_WORDS[code]})` : code;
}

/** The filesystem type name of `path` when it is a pseudo-filesystem that holds no files, else null. */
export function specialFilesystem(path: string): string | null {
  if (process.platform !== "linux") return null;
  try {
    return SPECIAL_FILESYSTEMS.get(Number(statfsSync(path).type)) ?? null;
  } catch {
    return null;
  }
}

/**
 * Why `dir` cannot be (created and) written as an output folder, or null when it can: walks up to
 * the first existing ancestor and checks it is a folder, writable, on a filesystem that holds files.
 */
export function outDirProblem(dir: string): string | null {
  const abs = resolve(dir);
  let p = abs;
  for (;;) {
    let isDir: boolean, isFile: boolean;
    try {
      const st = statSync(p);
      isDir = st.isDirectory();
      isFile = st.isFile();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") {
        const up = dirname(p);
        if (up === p) return `${p} does not exist`;
        p = up;
        continue;
      }
      return `cannot look at ${p}: ${errnoWords(e)}`;
    }
    const what = p;
    if (!isDir) return `${what} is ${isFile ? "a file" : "a device or special file"}, not a folder`;
    const fs = specialFilesystem(p);
    if (fs) return `${what} is on ${fs}, a kernel filesystem that holds no files`;
    try {
      accessSync(p, constants.W_OK);
    } catch (e) {
      return `${what} is not writable: ${errnoWords(e)}`;
    }
    return null;
  }
}

/** Check `dir` (outDirProblem) and create it; a problem is a ConfigError naming `option` and the path. */
export function makeOutDir(dir: string, option = "--out"): void {
  const problem = outDirProblem(dir);
  if (problem) throw new ConfigError(`${option} ${dir}`, problem);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new ConfigError(`${option} ${dir}`, `cannot create it: ${errnoWords(e)}`);
  }
}

/** An error of a file operation (it has an errno code and a path) as one line naming the path and the reason. */
export function writeError(e: unknown, option: string, dir: string): ConfigError | null {
  const x = e as NodeJS.ErrnoException;
  if (!x || typeof x.code !== "string" || !x.syscall || x.path === undefined) return null;
  return new ConfigError(`${option} ${dir}`, `cannot ${x.syscall} ${x.path}: ${errnoWords(x)}`);
}
