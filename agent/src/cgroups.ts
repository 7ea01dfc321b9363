import { readFileSync } from 'node:fs';

export interface CgroupInfo {
  /** 2: unified only; 1: legacy hierarchies (possibly with a unified one beside them, "hybrid"). */
  version: 1 | 2;
  hybrid: boolean;
}

/** Reads the cgroup layout of this host from /proc/self/mountinfo. */
export function detectCgroups(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupInfo {
  const fstypes = mountinfo.split('\n').flatMap((line) => {
    const post = line.split(' - ')[1];
    return post === undefined ? [] : [post.split(' ')[0]];
  });
  const v1 = fstypes.includes('cgroup');
  const v2 = fstypes.includes('cgroup2');
  return v2 && !v1 ? { version: 2, hybrid: false } : { version: 1, hybrid: v2 };
}

/** Where the unified (v2) hierarchy is mounted, if it is: the kernel's cgroup id of a process is its v2 directory's inode. */
export function cgroup2Mount(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.split(' ')[0] === 'cgroup2') return pre?.split(' ')[4];
  }
  return undefined;
}

/** The hierarchy of the CPU controller, whose quotas throttle tasks: where it is mounted, and which of its directories that is. */
export interface CpuHierarchy {
  version: 1 | 2;
  /** The mount point: the directory of the cgroup `root`. */
  mount: string;
  /** The cgroup the mount shows, as a path in the hierarchy (`/` unless a container sees part of it). */
  root: string;
}

/**
 * On cgroup v1 the mount whose options name `cpu` (e.g. /sys/fs/cgroup/cpu or …/cpu,cpuacct); else
 * the unified hierarchy, where the cpu controller lives on v2. Undefined when neither is mounted.
 */
export function cpuHierarchy(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CpuHierarchy | undefined {
  let unified: CpuHierarchy | undefined;
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    const fields = pre?.split(' ') ?? [];
    const [fstype, , options] = post?.split(' ') ?? [];
    const root = fields[3];
    const mount = fields[4];
    if (root === undefined || mount === undefined) continue;
    if (fstype === 'cgroup' && options?.split(',').includes('cpu')) return { version: 1, mount, root };
    if (fstype === 'cgroup2') unified ??= { version: 2, mount, root };
  }
  return unified;
}
