// The labels a process in a Kubernetes pod carries, from the pod as the API serves it:
//   namespace, pod, container, image, workload, workload_kind   where it runs and what runs it
//   pod_label_<name>, pod_annotation_<name>                      the pod's labels and annotations
// Names follow Prometheus' Kubernetes discovery (`__meta_kubernetes_pod_label_<name>`): every
// character outside [A-Za-z0-9_] becomes '_', so `app.kubernetes.io/name` is
// `pod_label_app_kubernetes_io_name`, a name users of Prometheus and Grafana already recognise and
// relabel rules can keep, drop or rename.
// `service` and `version` come from the pod when it names them (undefined: the process's own
// fallbacks apply), and `kiln.dev/profile: "false"` opts a pod out of profiling.
import type { V1ContainerStatus, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { Labels } from '../relabel.js';

export interface PodProcessMetadata {
  /** The pod asked not to be profiled (`kiln.dev/profile: "false"`). */
  optOut: boolean;
  /** From the pod's labels or annotations; undefined when it names none. */
  service: string | undefined;
  version: string | undefined;
  labels: Labels;
}

export const OPT_OUT_ANNOTATION = 'kiln.dev/profile';

/**
 * Where a pod names its service, first match wins: the Kubernetes recommended label, then the
 * annotations users of Pyroscope set (Grafana's current one, Pyroscope's own, its older scrape
 * config's) and the OpenTelemetry operator's. Parca's annotations (`parca.dev/scrape`, `/port`,
 * `/path`) carry no name, so none of them is here.
 */
const SERVICE_LABELS = ['app.kubernetes.io/name'];
const SERVICE_ANNOTATIONS = [
  'profiles.grafana.com/service_name',
  'pyroscope.io/service_name',
  'pyroscope.io/application-name',
  'resource.opentelemetry.io/service.name',
];
const VERSION_LABEL = 'app.kubernetes.io/version';

/**
 * Annotations whose values are documents, not names: kubectl's copy of the whole manifest would
 * put kilobytes of JSON on every series. Longer values are left out for the same reason.
 */
const SKIPPED_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);
const MAX_ANNOTATION_LENGTH = 256;

/** A CronJob names its Jobs `<cronjob>-<scheduled time in minutes since the epoch>`. */
const CRONJOB_JOB = /^(.+)-(\d{7,})$/;
/** How far before a Job's pod was created its schedule may lie (retries, a slow start) and still be a CronJob's. */
const CRONJOB_MAX_LAG_MINUTES = 30 * 24 * 60;

/** The labels of the process running `status`'s container of `pod`, or of a container the API has not reported yet. */
export function podProcessMetadata(pod: V1Pod, status: V1ContainerStatus | undefined): PodProcessMetadata {
  const meta = pod.metadata ?? {};
  const podLabels = meta.labels ?? {};
  const annotations = meta.annotations ?? {};
  const { workload, kind } = workloadOf(pod);
  const labels: [string, string][] = [
    ['namespace', meta.namespace ?? ''],
    ['pod', meta.name ?? ''],
    ['container', status?.name ?? ''],
    ['image', status === undefined ? '' : imageOf(pod, status)],
    ['workload', workload],
    ['workload_kind', kind],
  ];
  for (const [name, value] of Object.entries(podLabels)) labels.push([`pod_label_${labelName(name)}`, value]);
  for (const [name, value] of Object.entries(annotations))
    if (!SKIPPED_ANNOTATIONS.has(name) && value.length <= MAX_ANNOTATION_LENGTH) labels.push([`pod_annotation_${labelName(name)}`, value]);
  return {
    optOut: annotations[OPT_OUT_ANNOTATION]?.trim().toLowerCase() === 'false',
    service: firstOf(podLabels, SERVICE_LABELS) ?? firstOf(annotations, SERVICE_ANNOTATIONS),
    version: firstOf(podLabels, [VERSION_LABEL]),
    labels,
  };
}

function labelName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

function firstOf(values: Record<string, string>, keys: string[]): string | undefined {
  for (const key of keys) {
    const value = values[key]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** The image as the pod spec names it (what the user deployed); the runtime's resolved name if the spec is gone. */
function imageOf(pod: V1Pod, status: V1ContainerStatus): string {
  const spec = pod.spec;
  const containers = [...(spec?.containers ?? []), ...(spec?.initContainers ?? []), ...(spec?.ephemeralContainers ?? [])];
  return containers.find((c) => c.name === status.name)?.image ?? status.image ?? '';
}

/**
 * The workload that runs the pod, from its controller reference alone: the agent may only read
 * pods, so a ReplicaSet's Deployment and a Job's CronJob are found by the names their controllers
 * give them (a Deployment's ReplicaSet is `<deployment>-<pod-template-hash>`, the hash also the
 * pod's `pod-template-hash` label). A pod with no controller is its own workload.
 */
export function workloadOf(pod: V1Pod): { workload: string; kind: string } {
  const meta = pod.metadata ?? {};
  const owner: V1OwnerReference | undefined = meta.ownerReferences?.find((o) => o.controller) ?? meta.ownerReferences?.[0];
  if (owner === undefined) return { workload: meta.name ?? '', kind: 'Pod' };
  if (owner.kind === 'ReplicaSet') {
    const hash = meta.labels?.['pod-template-hash'];
    if (hash !== undefined && owner.name.endsWith(`-${hash}`))
      return { workload: owner.name.slice(0, -hash.length - 1), kind: 'Deployment' };
  }
  if (owner.kind === 'Job') {
    const cron = CRONJOB_JOB.exec(owner.name);
    if (cron !== undefined && cron !== null && scheduledBeforeCreation(Number(cron[2]), meta.creationTimestamp))
      return { workload: cron[1]!, kind: 'CronJob' };
  }
  return { workload: owner.name, kind: owner.kind };
}

/**
 * A Job named `<x>-<digits>` is a CronJob's when the digits are a schedule in minutes shortly
 * before its pod was created, so `backup-20240101` (a date someone chose) stays a Job.
 * Listed pods carry the timestamp as a Date, watched ones as the API's string.
 */
function scheduledBeforeCreation(minutes: number, created: Date | string | undefined): boolean {
  if (created === undefined) return false;
  const createdMinutes = Math.floor(new Date(created).getTime() / 60_000);
  return minutes <= createdMinutes && createdMinutes - minutes <= CRONJOB_MAX_LAG_MINUTES;
}

/** `containerd://<id>`, `cri-o://<id>`, `docker://<id>`: the id alone, as the cgroup path names it. */
export function containerIdOf(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const sep = id.indexOf('://');
  return sep < 0 ? id : id.slice(sep + 3);
}
