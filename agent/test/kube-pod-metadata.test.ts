// The pod metadata cache against recorded Kubernetes API traffic for node worker-1 (containerd):
// the node's PodList, then watch events, a step at a time: a CronJob's pod deleted, a StatefulSet's
// container restarted with a new id, a Deployment rolled out to app.kubernetes.io/version v2, and
// the watch expiring (410 Gone) so the cache relists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CgroupContainer } from '../src/container-id.js';
import { PodMetadata, serverConfig } from '../src/kube/pod-metadata.js';
import type { PodProcessMetadata } from '../src/kube/pod-labels.js';
import { RecordedKubeApi, until } from './kube-api-server.js';

/** The containers' ids as containerStatuses[].containerID reports them, after `containerd://`. */
const ids = {
  checkout: 'c7761e58969f7edd498186641b2021e8477e1bcd230de4cf3435242da4a40d14',
  envoy: '84532b306f259587c364bd7301e0813963d5b84fd27c9338f0862dab8f0499d7',
  postgres: 'a942b37ccfaf5a813b1432caa209a43b9d144e47ad0de1549c289c253e556cd5',
  postgresRestarted: '1cf7bcd6dc6b16613c40f20f03e65a0e0df9b03c424f44452f8879e172c8e1af',
  nodeExporter: '29b220d49cd6a1ed8396172f46fce4211ca0fa0d9926dee6710a289b6bd7a08e',
  report: '845e91831319e89c4d656bdb80c278ac09a7230d61e5dfd2e1b1fbb436ac8917',
  etcd: 'c38cbd92fce41312f3fbdce60510013b7f0d4004a03b45c8e762f98f1ed4006c',
  checkoutV2: '47582f64dfa6e375d28c4ddd7d26f6de9f3daae847ed7d6e866b891856cc9032',
  cart: '1c42ddc0285b9c25135be3bf345e6a041271b784b22a6f6cab6588dab93c5980',
};
const unknownId = 'f'.repeat(64);
const checkoutUid = '5b1f7a52-9c3e-4d2a-8f61-2a7c9e0b3d14';
const checkoutV2Uid = '8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5968';
/** The static etcd pod's cgroup is named after its config hash, not its mirror pod's UID. */
const etcdConfigHash = '0f5a3e9a3e0f7e21b2ac5e5cfa7c8e3d';

const inContainer = (id: string, podUid = ''): CgroupContainer => ({ id, podUid, runtime: 'containerd' });

/** The labels the profiler would take, as a record; the whole of them where a test names them all. */
function labels(metadata: PodProcessMetadata | undefined): Record<string, string> {
  assert.ok(metadata, 'the process has pod metadata');
  return Object.fromEntries(metadata.labels);
}

async function watchedNode(
  t: { after: (fn: () => Promise<void>) => void },
  api: RecordedKubeApi,
  options: { minBackoffMs?: number; onError?: (err: unknown) => void } = {},
): Promise<PodMetadata> {
  const server = await api.listen();
  const pods = new PodMetadata({ nodeName: 'worker-1', kubeConfig: serverConfig(server), ...options });
  t.after(async () => {
    await pods.stop();
    await api.close();
  });
  pods.start();
  return pods;
}

test('the node pods, looked up by container id and pod UID through a recorded watch', async (t) => {
  const api = new RecordedKubeApi({ lists: ['pods-worker-1.json', 'pods-worker-1-relist.json'] });
  const pods = await watchedNode(t, api);
  await pods.synced;
  await until(() => api.watching, 'the watch');

  // One request per purpose, each filtered by the API server to this node; the watch resumes from the list.
  assert.equal(api.lists[0]?.pathname, '/api/v1/pods');
  assert.equal(api.lists[0]?.searchParams.get('fieldSelector'), 'spec.nodeName=worker-1');
  assert.equal(api.watches[0]?.searchParams.get('fieldSelector'), 'spec.nodeName=worker-1');
  assert.equal(api.watches[0]?.searchParams.get('resourceVersion'), '1200');

  const checkout = pods.lookup(inContainer(ids.checkout));
  assert.deepEqual(labels(checkout), {
    namespace: 'shop',
    pod: 'checkout-7d9f8b6c5d-x2k4p',
    container: 'checkout',
    image: 'registry.example.com/shop/checkout:1.4.2',
    workload: 'checkout',
    workload_kind: 'Deployment',
    pod_label_app_kubernetes_io_name: 'checkout',
    pod_label_app_kubernetes_io_version: 'v1',
    pod_label_app_kubernetes_io_part_of: 'shop',
    pod_label_pod_template_hash: '7d9f8b6c5d',
    pod_annotation_kubectl_kubernetes_io_restartedAt: '2025-12-03T05:12:38Z',
  });
  assert.equal(checkout?.service, 'checkout');
  assert.equal(checkout?.version, 'v1');
  assert.equal(checkout?.optOut, false);

  // The sidecar: same pod, its own container and image.
  const envoy = labels(pods.lookup(inContainer(ids.envoy)));
  assert.equal(envoy.container, 'envoy');
  assert.equal(envoy.image, 'docker.io/envoyproxy/envoy:v1.31.2');
  assert.equal(envoy.pod, 'checkout-7d9f8b6c5d-x2k4p');

  // A StatefulSet's pod naming its service the way Pyroscope users do; no version label, so the process's own applies.
  const postgres = pods.lookup(inContainer(ids.postgres));
  assert.equal(labels(postgres).workload, 'postgres');
  assert.equal(labels(postgres).workload_kind, 'StatefulSet');
  assert.equal(postgres?.service, 'orders-db');
  assert.equal(postgres?.version, undefined);

  // A DaemonSet that opted out of profiling.
  const exporter = pods.lookup(inContainer(ids.nodeExporter));
  assert.equal(exporter?.optOut, true);
  assert.equal(labels(exporter).workload_kind, 'DaemonSet');

  // A CronJob's Job's pod: the CronJob is the workload.
  assert.deepEqual(
    [labels(pods.lookup(inContainer(ids.report))).workload, labels(pods.lookup(inContainer(ids.report))).workload_kind],
    ['report', 'CronJob'],
  );

  // A container the API has not reported yet: its pod by UID, without container and image.
  const starting = labels(pods.lookup(inContainer(unknownId, checkoutUid)));
  assert.equal(starting.pod, 'checkout-7d9f8b6c5d-x2k4p');
  assert.equal(starting.container, '');
  assert.equal(starting.image, '');
  assert.equal(pods.lookup(inContainer(unknownId)), undefined);
  assert.equal(pods.lookup(inContainer(unknownId, '00000000-0000-4000-8000-000000000000')), undefined);

  // The static pod by the config hash its cgroup carries; kubectl's copy of the manifest is not a label.
  const etcd = labels(pods.lookup(inContainer(unknownId, etcdConfigHash)));
  assert.equal(etcd.pod, 'etcd-worker-1');
  assert.equal(etcd.workload_kind, 'Node');
  assert.equal(etcd.pod_annotation_kubernetes_io_config_hash, etcdConfigHash);
  assert.equal(etcd.pod_annotation_kubectl_kubernetes_io_last_applied_configuration, undefined);
  assert.equal(labels(pods.lookup(inContainer(ids.etcd, etcdConfigHash))).container, 'etcd');

  // Step 1: the CronJob's pod completes and is deleted.
  api.send('watch-1-pod-deleted.jsonl');
  await until(() => pods.lookup(inContainer(ids.report)) === undefined, 'the deleted pod to go');

  // Step 2: postgres' container is OOM-killed and restarted with a new id.
  api.send('watch-2-container-restarted.jsonl');
  await until(() => pods.lookup(inContainer(ids.postgresRestarted)) !== undefined, 'the restarted container');
  assert.equal(labels(pods.lookup(inContainer(ids.postgresRestarted))).pod, 'postgres-0');
  assert.equal(pods.lookup(inContainer(ids.postgresRestarted))?.service, 'orders-db');
  // The previous run's samples may still be drained: its id keeps its pod while the pod reports it.
  assert.equal(labels(pods.lookup(inContainer(ids.postgres))).pod, 'postgres-0');

  // Step 3: checkout rolls out v2; the old pod terminates.
  api.send('watch-3-rollout.jsonl');
  await until(() => pods.lookup(inContainer(ids.checkout)) === undefined, 'the old ReplicaSet pod to go');
  const v2 = pods.lookup(inContainer(ids.checkoutV2));
  assert.equal(v2?.version, 'v2');
  assert.equal(v2?.service, 'checkout');
  assert.equal(labels(v2).pod, 'checkout-5f6c7b8d9e-h7j2m');
  assert.equal(labels(v2).image, 'registry.example.com/shop/checkout:1.5.0');
  assert.deepEqual([labels(v2).workload, labels(v2).workload_kind], ['checkout', 'Deployment']);
  assert.equal(pods.lookup(inContainer(unknownId, checkoutUid)), undefined);
  assert.equal(pods.lookup(inContainer(unknownId, checkoutV2Uid))?.version, 'v2');

  // Step 4: the watch expires (410 Gone) and the cache relists: what changed unwatched is taken in.
  api.send('watch-4-expired.jsonl', { end: true });
  await until(() => api.watches.length === 2, 'the watch after the relist');
  assert.equal(api.lists.length, 2);
  assert.equal(api.watches[1]?.searchParams.get('resourceVersion'), '1391');
  assert.equal(pods.lookup(inContainer(ids.nodeExporter)), undefined);
  const cart = pods.lookup(inContainer(ids.cart));
  // The Kubernetes label wins over the OpenTelemetry operator's annotation.
  assert.equal(cart?.service, 'cart');
  assert.equal(cart?.version, '3.1.0');
  assert.equal(pods.lookup(inContainer(ids.checkoutV2))?.version, 'v2');
  assert.equal(pods.lookup(inContainer(ids.postgresRestarted))?.service, 'orders-db');
});

test('a failing API is retried with backoff until it answers', async (t) => {
  const api = new RecordedKubeApi({ lists: ['pods-worker-1.json'], listFailures: [500, 503] });
  const errors: unknown[] = [];
  const pods = await watchedNode(t, api, { minBackoffMs: 20, onError: (err) => errors.push(err) });
  await pods.synced;
  assert.equal(errors.length, 2);
  assert.equal(api.lists.length, 3);
  assert.equal(labels(pods.lookup(inContainer(ids.checkout))).workload, 'checkout');
});
