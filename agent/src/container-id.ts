// Which container, and which Kubernetes pod, a process runs in, from its /proc/<pid>/cgroup: the
// runtimes name a container's cgroup after its id, and the kubelet names a pod's cgroup after the
// pod's UID, under either cgroup driver:
//   systemd driver  …/kubepods-burstable-pod<uid, '-' written '_'>.slice/cri-containerd-<id>.scope   (crio-, docker-)
//   cgroupfs driver …/kubepods/burstable/pod<uid>/<id>                                               (crio-<id> for CRI-O)
// The id is the one the Kubernetes API reports in a pod's containerStatuses[].containerID
// ("containerd://<id>"), so the pod metadata joins on it; the pod UID is there before the API has
// reported a new container's id.

export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'podman';

export interface CgroupContainer {
  /** 64 lowercase hex digits. */
  id: string;
  /**
   * The pod's UID as the kubelet wrote it: a UUID, or for a static pod the 32 hex digits of its
   * config hash (the mirror pod's `kubernetes.io/config.hash` annotation); '' outside a pod.
   */
  podUid: string;
  /** '' when the path does not say (a bare id under the cgroupfs driver is containerd's or Docker's). */
  runtime: ContainerRuntime | '';
}

/**
 * A cgroup directory named after a container: a systemd scope `<prefix>-<id>.scope` (runc, crun and
 * conmon name them so under the systemd driver) or a cgroupfs directory `<id>` or `crio-<id>`.
 * The conmon monitors' scopes (`crio-conmon-<id>`, `libpod-conmon-<id>`) do not match: conmon is
 * not the container.
 */
const CONTAINER_DIR = /^(?:(cri-containerd|crio|docker|libpod|nerdctl)-)?([0-9a-f]{64})(?:\.scope)?$/;

const RUNTIME_OF_PREFIX: Record<string, ContainerRuntime> = {
  'cri-containerd': 'containerd',
  nerdctl: 'containerd',
  crio: 'cri-o',
  docker: 'docker',
  libpod: 'podman',
};

/** The kubelet's pod cgroup: `pod<uid>` (cgroupfs) or `<parent slices>-pod<uid with '_'>.slice` (systemd). */
const POD_DIR = /^(?:[\w-]*-)?pod([0-9a-f_-]{36}|[0-9a-f]{32})(?:\.slice)?$/;
const POD_UID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;

/** containerd's own namespaces, the parents of its cgroups when no kubelet or Docker chose one (`ctr run`, nerdctl). */
const CONTAINERD_NAMESPACES = new Set(['default', 'k8s.io']);

interface Found extends CgroupContainer {
  /** How many containers the path nests (kind's nodes, Docker in Docker): the line that sees the most wins. */
  depth: number;
}

/**
 * The container a process runs in, from the text of /proc/<pid>/cgroup: one `0::/path` line
 * (cgroup v2) or one `N:controllers:/path` line per hierarchy (v1, where a runtime may have placed
 * the process in the container's cgroup in some hierarchies only). Nested containers give the
 * innermost. Undefined for a process in no container (`/`, `init.scope`, user slices).
 */
export function containerOfCgroup(cgroup: string): CgroupContainer | undefined {
  let best: Found | undefined;
  for (const line of cgroup.split('\n')) {
    const controllersEnd = line.indexOf(':', line.indexOf(':') + 1);
    if (controllersEnd < 0) continue;
    // cgroup v2 marks a process's removed cgroup (a zombie's) with this suffix.
    const found = containerOfPath(line.slice(controllersEnd + 1).replace(/ \(deleted\)$/, ''));
    if (found !== undefined && (best === undefined || found.depth > best.depth)) best = found;
  }
  if (best === undefined) return undefined;
  return { id: best.id, podUid: best.podUid, runtime: best.runtime };
}

/**
 * One cgroup path. Inside a cgroup namespace (an agent in a pod on cgroup v2) the paths of other
 * pods' processes start with `/../..`: only the last components matter. Components after the
 * container's (crun's `container` subgroup, systemd's units inside a kind node) stay in it.
 */
function containerOfPath(path: string): Found | undefined {
  const dirs = path.split('/');
  let at = -1;
  let depth = 0;
  for (let i = 0; i < dirs.length; i++) {
    if (CONTAINER_DIR.test(dirs[i]!)) {
      at = i;
      depth++;
    }
  }
  if (at < 0) return undefined;
  const [, prefix, id] = CONTAINER_DIR.exec(dirs[at]!)!;
  const parent = at > 0 ? dirs[at - 1]! : '';
  const podUid = POD_DIR.exec(parent)?.[1]?.replace(/_/g, '-') ?? '';
  return { id: id!, podUid: POD_UID.test(podUid) ? podUid : '', runtime: runtimeOf(prefix, parent, at), depth };
}

function runtimeOf(prefix: string | undefined, parent: string, at: number): ContainerRuntime | '' {
  if (prefix !== undefined) return RUNTIME_OF_PREFIX[prefix]!;
  if (parent === 'docker') return 'docker';
  // `/<namespace>/<id>`: containerd's default cgroup path.
  if (at === 2 && CONTAINERD_NAMESPACES.has(parent)) return 'containerd';
  return '';
}
