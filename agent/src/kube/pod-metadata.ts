// The pods of the agent's node, kept current by a list and watch of the Kubernetes API filtered to
// `spec.nodeName=<node>` (the API server filters, so a node's agent reads its own pods only), and
// looked up by what /proc/<pid>/cgroup names: a container id, else the pod's UID.
// @kubernetes/client-node's ListWatch relists when the API answers 410 Gone (the resource version
// it watched from is compacted away); any other failure stops it, so this restarts it with a
// backoff: a thousand agents must not hammer a struggling API server.
import { CoreV1Api, KubeConfig, ListWatch, Watch, type V1Pod } from '@kubernetes/client-node';
import type { CgroupContainer } from '../container-id.js';
import { containerIdOf, podProcessMetadata, type PodProcessMetadata } from './pod-labels.js';

export interface PodMetadataOptions {
  /** The node whose pods to watch (the chart passes it from the downward API). */
  nodeName: string;
  kubeConfig: KubeConfig;
  /** The first retry's delay; each failure in a row doubles it up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Told of each failure before the retry. */
  onError?: (err: unknown, retryInMs: number) => void;
}

/** The agent's own pod's view of the API: the service account's token and CA, KUBERNETES_SERVICE_HOST/PORT. */
export function inClusterConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromCluster();
  return config;
}

/** A plain-HTTP API server without authentication (`kubectl proxy`, tests). */
export function serverConfig(server: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromClusterAndUser({ name: 'server', server, skipTLSVerify: server.startsWith('http:') }, { name: 'anonymous' });
  return config;
}

interface IndexedPod {
  /** Ids this pod's entries hold in byContainerId, to remove them when the pod changes or goes. */
  containerIds: string[];
  /** UID and, for a static pod's mirror, its config hash: the keys of its entries in byPodUid. */
  podUids: string[];
}

/** The annotation on a static pod's mirror holding the UID the kubelet gave the pod's cgroup. */
const CONFIG_HASH = 'kubernetes.io/config.hash';

export class PodMetadata {
  readonly #informer: ListWatch<V1Pod>;
  readonly #byContainerId = new Map<string, PodProcessMetadata>();
  readonly #byPodUid = new Map<string, PodProcessMetadata>();
  readonly #indexed = new Map<string, IndexedPod>();
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #onError: ((err: unknown, retryInMs: number) => void) | undefined;
  #backoffMs: number;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;
  #listed!: () => void;
  /** Resolves once the first list is in. */
  readonly synced = new Promise<void>((resolve) => (this.#listed = resolve));

  constructor({ nodeName, kubeConfig, minBackoffMs = 1000, maxBackoffMs = 30_000, onError }: PodMetadataOptions) {
    if (nodeName === '') throw new Error('pod metadata needs the node name (NODE_NAME from the downward API)');
    this.#minBackoffMs = this.#backoffMs = minBackoffMs;
    this.#maxBackoffMs = maxBackoffMs;
    this.#onError = onError;
    const api = kubeConfig.makeApiClient(CoreV1Api);
    const fieldSelector = `spec.nodeName=${nodeName}`;
    const list = async () => {
      const pods = await api.listPodForAllNamespaces({ fieldSelector });
      // A list (first, or after 410 Gone) proves the API reachable: failures from now on count afresh.
      this.#backoffMs = this.#minBackoffMs;
      // ListWatch indexes the items in the continuation of this promise, before any macrotask.
      setImmediate(this.#listed);
      return pods;
    };
    this.#informer = new ListWatch('/api/v1/pods', new Watch(kubeConfig), list, false, undefined, fieldSelector);
    this.#informer.on('add', (pod) => this.#index(pod));
    this.#informer.on('update', (pod) => this.#index(pod));
    this.#informer.on('delete', (pod) => this.#remove(pod));
    this.#informer.on('error', (err) => this.#failed(err));
  }

  /** Starts listing and watching; failures are retried, never thrown. */
  start(): void {
    this.#stopped = false;
    void this.#informer.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#informer.stop();
  }

  /**
   * The metadata of the process in `container`: by its container id, else (a container the API
   * has not reported yet, a static pod) by its pod's UID without the container's own labels.
   */
  lookup(container: CgroupContainer): PodProcessMetadata | undefined {
    return this.#byContainerId.get(container.id) ?? (container.podUid === '' ? undefined : this.#byPodUid.get(container.podUid));
  }

  #index(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (uid === undefined) return;
    this.#forget(uid);
    const entry: IndexedPod = { containerIds: [], podUids: [uid] };
    const configHash = pod.metadata?.annotations?.[CONFIG_HASH];
    if (configHash !== undefined && configHash !== uid) entry.podUids.push(configHash);
    const podOnly = podProcessMetadata(pod, undefined);
    for (const key of entry.podUids) this.#byPodUid.set(key, podOnly);
    const status = pod.status;
    for (const container of [
      ...(status?.initContainerStatuses ?? []),
      ...(status?.containerStatuses ?? []),
      ...(status?.ephemeralContainerStatuses ?? []),
    ]) {
      const metadata = podProcessMetadata(pod, container);
      // The previous run's id too: its samples may still be drained after the restart.
      const previous = container.lastState?.terminated?.containerID;
      for (const id of [containerIdOf(container.containerID), containerIdOf(previous)]) {
        if (id === undefined) continue;
        this.#byContainerId.set(id, metadata);
        entry.containerIds.push(id);
      }
    }
    this.#indexed.set(uid, entry);
  }

  #remove(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (uid !== undefined) this.#forget(uid);
  }

  #forget(uid: string): void {
    const entry = this.#indexed.get(uid);
    if (entry === undefined) return;
    for (const id of entry.containerIds) this.#byContainerId.delete(id);
    for (const key of entry.podUids) this.#byPodUid.delete(key);
    this.#indexed.delete(uid);
  }

  #failed(err: unknown): void {
    if (this.#stopped) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxBackoffMs);
    this.#onError?.(err, delay);
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      if (!this.#stopped) void this.#informer.start();
    }, delay);
  }
}
