// The deployment files: the systemd unit passes `systemd-analyze verify`; the Kubernetes
// DaemonSet and container recipe parse and agree with the unit and the measured capability set.
// Neither runs on a real init or cluster here (README "Operating it" says what was exercised).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SERVICE_CAPABILITIES } from '../src/service/capabilities.js';
import { parseConfig } from '../src/service/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const unitPath = join(root, 'deploy/systemd/procmem-guard.service');
const unit = readFileSync(unitPath, 'utf8');
const setting = (key: string) =>
  unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

describe('deploy/systemd/procmem-guard.service', () => {
  it.skipIf(!existsSync('/usr/bin/systemd-analyze'))('passes systemd-analyze verify', () => {
    // verify checks that ExecStart's program exists: point it at one that does.
    const dir = mkdtempSync(join(tmpdir(), 'pmg-unit-'));
    const copy = join(dir, 'procmem-guard.service');
    writeFileSync(copy, unit.replace('/usr/bin/procmem-guard', '/bin/true'));
    const out = execFileSync('/usr/bin/systemd-analyze', ['verify', copy], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toBe('');
  });

  it('runs watch with the config file, restarts on failure, and is confined as the issue lists', () => {
    expect(setting('ExecStart')).toEqual([
      '/usr/bin/procmem-guard watch --config /etc/procmem-guard/config.yaml',
    ]);
    expect(setting('Restart')).toEqual(['on-failure']);
    expect(setting('RuntimeDirectory')).toEqual(['procmem-guard']);
    for (const k of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp'])
      expect(setting(k)).toEqual(['yes']);
    expect(setting('ProtectSystem')).toEqual(['strict']);
  });

  it('holds exactly the measured capabilities', () => {
    for (const k of ['CapabilityBoundingSet', 'AmbientCapabilities'])
      expect(setting(k)[0]?.split(' ').sort()).toEqual(SERVICE_CAPABILITIES);
  });
});

describe('deploy/kubernetes', () => {
  const docs = parseAllDocuments(
    readFileSync(join(root, 'deploy/kubernetes/daemonset.yaml'), 'utf8'),
  );
  const objects = docs.map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS();
  });
  const ds = objects.find((o) => o.kind === 'DaemonSet');
  const pod = ds.spec.template.spec;
  const container = pod.containers[0];

  it('a DaemonSet with hostPID, the measured capabilities and not privileged', () => {
    expect(pod.hostPID).toBe(true);
    expect(container.securityContext.privileged).toBe(false);
    expect(container.securityContext.capabilities.drop).toEqual(['ALL']);
    expect([...container.securityContext.capabilities.add].sort()).toEqual(
      SERVICE_CAPABILITIES.map((c) => c.replace(/^CAP_/, '')),
    );
  });

  it('runs what the unit runs, with the state directory mounted and the metrics port probed', () => {
    expect(['procmem-guard', ...container.args].join(' ')).toBe(
      setting('ExecStart')[0]?.replace('/usr/bin/', ''),
    );
    const mounts = container.volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    expect(mounts).toContain(`/run/${setting('RuntimeDirectory')[0]}`);
    expect(mounts).toContain('/etc/procmem-guard');
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits).toBeDefined();
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    const port = container.ports.find((p: { name: string }) => p.name === 'metrics').containerPort;
    expect(ds.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(port));
    // The shipped config is valid and serves metrics on that port.
    const cm = objects.find((o) => o.kind === 'ConfigMap');
    const config = parseConfig(cm.data['config.yaml'], 'configmap');
    expect(config.metrics).toBe(`0.0.0.0:${port}`);
  });

  it('the container recipe installs the packed tarball and runs the same command', () => {
    const recipe = readFileSync(join(root, 'deploy/kubernetes/Containerfile'), 'utf8');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(recipe).toContain(
      `npm install --global --omit=dev /tmp/procmem-guard-${pkg.version}.tgz`,
    );
    expect(recipe).toContain('CMD ["watch", "--config", "/etc/procmem-guard/config.yaml"]');
    expect(container.image).toBe(`procmem-guard:${pkg.version}`);
  });
});
