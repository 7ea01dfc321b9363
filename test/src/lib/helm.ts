// The chart under test, rendered by a real `helm` (the one scripts/install-helm.sh unpacks from an npm
// package) and checked against the Kubernetes API schemas of each object's apiVersion and kind.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1';
import { parseAllDocuments } from 'yaml';

import { repoRoot } from './kiln.js';

export const chartDir = join(repoRoot, 'helm/kiln');

/** A rendered object: only what every Kubernetes object has is typed; tests narrow the rest. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

let helmPath: string | undefined;

/** The helm binary; unpacked on first use (idempotent), failing loudly when the setup has not run. */
export function helmBinary(): string {
  helmPath ??= execFileSync('bash', [join(repoRoot, 'scripts/install-helm.sh')], { encoding: 'utf8' }).trim();
  return helmPath;
}

export function helm(args: string[]): HelmResult {
  const r = spawnSync(helmBinary(), args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: tmpdir() } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `helm <command> <chart> … --values <file>` with `values` written to a temporary file. */
export function helmWithValues(command: string[], values: object): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-helm-'));
  try {
    const file = join(dir, 'values.yaml');
    // JSON is YAML: no second serializer needed.
    writeFileSync(file, JSON.stringify(values));
    return helm([...command, '--values', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart with these values: every object it renders, or an error with helm's message. */
export function renderChart(values: object, release = 'kiln', namespace = 'profiling'): Manifest[] {
  const r = helmWithValues(['template', release, chartDir, '--namespace', namespace], values);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

type Validating = new (data: never) => { validate(): void };

/** The schema of each apiVersion/kind the chart may render; one it does not know is an error, not a pass. */
const models: Record<string, Validating> = Object.fromEntries(
  [
    DaemonSet,
    Deployment,
    StatefulSet,
    Namespace,
    Secret,
    Service,
    ServiceAccount,
    Ingress,
    PodDisruptionBudget,
    ClusterRole,
    ClusterRoleBinding,
    Role,
    RoleBinding,
    PriorityClass,
  ].map((model) => [`${model.apiVersion}/${model.kind}`, model as unknown as Validating]),
);

/** Throws, naming the object, when it does not validate against its Kubernetes schema. */
export function validateManifest(m: Manifest): void {
  const model = models[`${m.apiVersion}/${m.kind}`];
  if (model === undefined) throw new Error(`no Kubernetes schema known for ${m.apiVersion} ${m.kind} (${m.metadata.name})`);
  try {
    new model(m as never).validate();
  } catch (err) {
    throw new Error(`${m.kind} ${m.metadata.name} does not match the ${m.apiVersion} schema: ${(err as Error).message}`, { cause: err });
  }
}
