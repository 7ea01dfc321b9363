// A pod's labels for its processes, from pods of the recorded PodList changed the way users and
// controllers change them: peers' service annotations, the opt-out, owners named by convention.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod, V1PodList } from '@kubernetes/client-node';
import { containerIdOf, podProcessMetadata, workloadOf } from '../src/kube/pod-labels.js';
import { fixture } from './kube-api-server.js';

const recorded = (JSON.parse(fixture('pods-worker-1.json')) as V1PodList).items;

/** A recorded pod by name, deep-copied so a test may change it. */
function pod(name: string): V1Pod {
  const found = recorded.find((p) => p.metadata?.name === name);
  assert.ok(found, name);
  return structuredClone(found);
}

function withAnnotations(p: V1Pod, annotations: Record<string, string>): V1Pod {
  p.metadata!.annotations = annotations;
  return p;
}

test('service: app.kubernetes.io/name, then Grafana Pyroscope, Pyroscope, OpenTelemetry annotations, else none', () => {
  const bare = pod('postgres-0');
  bare.metadata!.labels = { app: 'postgres' };
  const service = (annotations: Record<string, string>) =>
    podProcessMetadata(withAnnotations(structuredClone(bare), annotations), undefined).service;
  assert.equal(service({}), undefined);
  assert.equal(service({ 'resource.opentelemetry.io/service.name': 'otel' }), 'otel');
  assert.equal(service({ 'resource.opentelemetry.io/service.name': 'otel', 'pyroscope.io/application-name': 'legacy' }), 'legacy');
  assert.equal(service({ 'pyroscope.io/application-name': 'legacy', 'pyroscope.io/service_name': 'pyro' }), 'pyro');
  assert.equal(service({ 'pyroscope.io/service_name': 'pyro', 'profiles.grafana.com/service_name': 'grafana' }), 'grafana');
  // A blank value names nothing.
  assert.equal(service({ 'profiles.grafana.com/service_name': ' ', 'pyroscope.io/service_name': 'pyro' }), 'pyro');
  // Parca's annotations carry no name.
  assert.equal(service({ 'parca.dev/scrape': 'true', 'parca.dev/port': '7070' }), undefined);

  const named = pod('checkout-7d9f8b6c5d-x2k4p');
  assert.equal(podProcessMetadata(withAnnotations(named, { 'pyroscope.io/service_name': 'pyro' }), undefined).service, 'checkout');
});

test('version: app.kubernetes.io/version only', () => {
  const p = pod('checkout-7d9f8b6c5d-x2k4p');
  assert.equal(podProcessMetadata(p, undefined).version, 'v1');
  delete p.metadata!.labels!['app.kubernetes.io/version'];
  assert.equal(podProcessMetadata(p, undefined).version, undefined);
});

test('kiln.dev/profile opts a pod out when "false", in any case', () => {
  const optOut = (value: string) => podProcessMetadata(withAnnotations(pod('postgres-0'), { 'kiln.dev/profile': value }), undefined).optOut;
  assert.equal(optOut('false'), true);
  assert.equal(optOut('False'), true);
  assert.equal(optOut('true'), false);
  assert.equal(optOut(''), false);
  assert.equal(podProcessMetadata(pod('postgres-0'), undefined).optOut, false);
});

test('owners: Deployment and CronJob by their naming conventions, others as they are, a bare pod its own', () => {
  assert.deepEqual(workloadOf(pod('checkout-7d9f8b6c5d-x2k4p')), { workload: 'checkout', kind: 'Deployment' });
  assert.deepEqual(workloadOf(pod('report-29412345-qz7tw')), { workload: 'report', kind: 'CronJob' });
  assert.deepEqual(workloadOf(pod('postgres-0')), { workload: 'postgres', kind: 'StatefulSet' });
  assert.deepEqual(workloadOf(pod('node-exporter-8lq2v')), { workload: 'node-exporter', kind: 'DaemonSet' });

  // A ReplicaSet made by hand (no pod-template-hash) is the workload itself.
  const replicaSet = pod('checkout-7d9f8b6c5d-x2k4p');
  delete replicaSet.metadata!.labels!['pod-template-hash'];
  assert.deepEqual(workloadOf(replicaSet), { workload: 'checkout-7d9f8b6c5d', kind: 'ReplicaSet' });

  // A Job whose digits are not a schedule shortly before the pod's creation is no CronJob's.
  const job = pod('report-29412345-qz7tw');
  job.metadata!.ownerReferences![0]!.name = 'backup-20240101';
  assert.deepEqual(workloadOf(job), { workload: 'backup-20240101', kind: 'Job' });
  // Watched pods carry the creation time as the API's string (as recorded), listed ones as the client's Date.
  const listed = pod('report-29412345-qz7tw');
  listed.metadata!.creationTimestamp = new Date('2025-12-03T05:45:02Z');
  assert.deepEqual(workloadOf(listed), { workload: 'report', kind: 'CronJob' });

  const bare = pod('postgres-0');
  delete bare.metadata!.ownerReferences;
  assert.deepEqual(workloadOf(bare), { workload: 'postgres-0', kind: 'Pod' });
});

test('labels and annotations: Prometheus-style names, long annotation values left out', () => {
  const p = withAnnotations(pod('postgres-0'), { 'example.com/note': 'x'.repeat(256), 'example.com/blob': 'x'.repeat(257) });
  const labels = Object.fromEntries(podProcessMetadata(p, p.status!.containerStatuses![0]).labels);
  assert.equal(labels.pod_label_statefulset_kubernetes_io_pod_name, 'postgres-0');
  assert.equal(labels.pod_label_apps_kubernetes_io_pod_index, '0');
  assert.equal(labels.pod_annotation_example_com_note, 'x'.repeat(256));
  assert.equal(labels.pod_annotation_example_com_blob, undefined);
  assert.equal(labels.container, 'postgres');
  assert.equal(labels.image, 'docker.io/library/postgres:16.4');
});

test('container ids without their runtime prefix', () => {
  const id = 'a942b37ccfaf5a813b1432caa209a43b9d144e47ad0de1549c289c253e556cd5';
  assert.equal(containerIdOf(`containerd://${id}`), id);
  assert.equal(containerIdOf(`cri-o://${id}`), id);
  assert.equal(containerIdOf(`docker://${id}`), id);
  assert.equal(containerIdOf(''), undefined);
  assert.equal(containerIdOf(undefined), undefined);
});
