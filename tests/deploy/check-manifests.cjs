#!/usr/bin/env node
// Consistency checks on the rendered K3s manifests (kubectl kustomize output)
// that a schema cannot express: what issue 8 requires of each workload, and
// that ports, probe ports, volume mounts and EDGEFED_* paths agree with each
// other. What the binaries themselves accept is checked by
// binaries-accept-manifests.sh with the environment this script exports.
//
//   check-manifests.cjs RENDERED.yaml              run the checks
//   check-manifests.cjs RENDERED.yaml --env KIND/NAME/CONTAINER ROOT NODE
//       print the container's resolved environment (ConfigMaps, $(VAR)
//       references and the downward API with NODE as the node name), one
//       KEY=VALUE a line, with every path under a volume mount moved under
//       ROOT; and on stderr nothing. Used to run the binaries as the pod would.
//   check-manifests.cjs RENDERED.yaml --mounts KIND/NAME/CONTAINER
//       print "MOUNTPATH TYPE SOURCE [KEY...]" a line (TYPE secret, configMap,
//       hostPath, emptyDir, pvc; SOURCE the Secret/ConfigMap/host path/claim).
//   check-manifests.cjs RENDERED.yaml --admits KIND/NAME LABEL=VALUE...
//       print "admitted" or "refused": whether the workload's nodeSelector and
//       required node affinity admit a node with exactly these labels.
'use strict';

const fs = require('fs');
const { parseDocuments } = require('./validate-k8s.cjs');

function load(file) {
  return parseDocuments(fs.readFileSync(file, 'utf8'), file).map((d) => {
    if (d.parseError) throw new Error(`${file}: ${d.parseError}`);
    return d.value;
  });
}

function find(objs, kind, name) {
  return objs.find((o) => o.kind === kind && o.metadata && o.metadata.name === name);
}

function podSpec(obj) {
  return obj && obj.spec && obj.spec.template ? obj.spec.template.spec : null;
}

// Resolves a container's environment as the kubelet would.
function resolveEnv(objs, obj, container, nodeName) {
  const env = new Map();
  for (const src of container.envFrom || []) {
    if (!src.configMapRef) throw new Error('only configMapRef envFrom is supported');
    const cm = find(objs, 'ConfigMap', src.configMapRef.name);
    if (!cm) throw new Error(`envFrom: ConfigMap ${src.configMapRef.name} is not in the rendering`);
    for (const [k, v] of Object.entries(cm.data || {})) env.set((src.prefix || '') + k, v);
  }
  for (const e of container.env || []) {
    let value = '';
    if (e.value !== undefined) {
      // $(VAR) expands variables defined earlier; $$ escapes.
      value = e.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) =>
        m === '$$' ? '$' : env.has(name) ? env.get(name) : m);
    } else if (e.valueFrom && e.valueFrom.fieldRef) {
      const path = e.valueFrom.fieldRef.fieldPath;
      const known = {
        'spec.nodeName': nodeName,
        'metadata.name': `${obj.metadata.name}-test`,
        'metadata.namespace': obj.metadata.namespace || 'default',
      };
      if (!(path in known)) throw new Error(`env ${e.name}: fieldRef ${path} not supported here`);
      value = known[path];
    } else if (e.valueFrom && e.valueFrom.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const cm = find(objs, 'ConfigMap', ref.name);
      if (!cm || !(ref.key in (cm.data || {}))) throw new Error(`env ${e.name}: ${ref.name}/${ref.key} missing`);
      value = cm.data[ref.key];
    } else if (e.valueFrom && e.valueFrom.secretKeyRef) {
      value = `<secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}>`;
    } else {
      throw new Error(`env ${e.name}: unsupported source`);
    }
    env.set(e.name, value);
  }
  return env;
}

function mounts(obj, container) {
  const spec = podSpec(obj);
  const vols = new Map((spec.volumes || []).map((v) => [v.name, v]));
  for (const t of (obj.spec.volumeClaimTemplates || [])) {
    vols.set(t.metadata.name, { name: t.metadata.name, persistentVolumeClaim: { claimName: t.metadata.name } });
  }
  return (container.volumeMounts || []).map((m) => {
    const v = vols.get(m.name);
    if (!v) throw new Error(`${container.name}: volumeMount ${m.name} has no volume`);
    let type;
    let source;
    let keys = [];
    if (v.secret) {
      type = 'secret';
      source = v.secret.secretName;
      keys = (v.secret.items || []).map((i) => i.path);
    } else if (v.configMap) {
      type = 'configMap';
      source = v.configMap.name;
    } else if (v.hostPath) {
      type = 'hostPath';
      source = v.hostPath.path;
    } else if (v.emptyDir) {
      type = 'emptyDir';
      source = '-';
    } else if (v.persistentVolumeClaim) {
      type = 'pvc';
      source = v.persistentVolumeClaim.claimName;
    } else {
      type = 'other';
      source = '-';
    }
    const mode = v.secret ? v.secret.defaultMode : v.configMap ? v.configMap.defaultMode : undefined;
    return { volume: m.name, mountPath: m.mountPath, readOnly: !!m.readOnly, type, source, keys, mode };
  });
}

// Moves every path under a mount point into root (longest mount first);
// paths appear alone or inside specs such as csv:/data/x.csv:label=last.
function reroot(value, mountList, root) {
  const esc = (p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const points = mountList.map((m) => m.mountPath).sort((a, b) => b.length - a.length);
  if (points.length === 0) return value;
  const re = new RegExp(`(^|[\\s"':=,])(${points.map(esc).join('|')})(?=$|[\\s"'/:,])`, 'g');
  return value.replace(re, (m, pre, p) => `${pre}${root}${p}`);
}

// Lays out the pod's volumes under root as the kubelet would (Secret and
// ConfigMap keys as files with the volume's mode, the Secret taken from
// secretObjs; other volumes as empty directories), then runs the init
// containers' commands with their resolved environment and every path moved
// under root. Throws on the first failure.
function materialize(objs, secretObjs, obj, root, nodeName) {
  const spec = podSpec(obj);
  const all = [...(spec.initContainers || []), ...spec.containers];
  const placed = new Map(); // volume name -> first path
  for (const c of all) {
    for (const m of mounts(obj, c)) {
      const dir = root + m.mountPath;
      if (placed.has(m.volume)) {
        if (placed.get(m.volume) !== dir && !fs.existsSync(dir)) {
          fs.mkdirSync(require('path').dirname(dir), { recursive: true });
          fs.symlinkSync(placed.get(m.volume), dir);
        }
        continue;
      }
      placed.set(m.volume, dir);
      fs.mkdirSync(dir, { recursive: true });
      if (m.type === 'secret' || m.type === 'configMap') {
        const kind = m.type === 'secret' ? 'Secret' : 'ConfigMap';
        const src = find(secretObjs, kind, m.source) || find(objs, kind, m.source);
        if (!src) throw new Error(`${kind} ${m.source} (volume ${m.volume}) is neither rendered nor made by make-secrets.sh`);
        const data = { ...(src.data || {}) };
        const decoded = kind === 'Secret'
          ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64')]))
          : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)]));
        for (const [k, v] of Object.entries(decoded)) {
          fs.writeFileSync(`${dir}/${k}`, v);
          fs.chmodSync(`${dir}/${k}`, m.mode === undefined ? 0o644 : m.mode);
        }
      }
    }
  }
  const isRoot = process.getuid && process.getuid() === 0;
  for (const c of spec.initContainers || []) {
    const sc = c.securityContext || {};
    if (sc.runAsUser === 0 && !isRoot) {
      process.stderr.write(`note: init container ${c.name} runs as root in the pod; skipped (not root here)\n`);
      continue;
    }
    const ms = mounts(obj, c);
    const env = resolveEnv(objs, obj, c, nodeName);
    const argv = [...(c.command || []), ...(c.args || [])].map((a) => reroot(a, ms, root));
    const r = require('child_process').spawnSync(argv[0], argv.slice(1), {
      env: { PATH: process.env.PATH, ...Object.fromEntries(env) }, encoding: 'utf8',
    });
    if (r.status !== 0) {
      throw new Error(`init container ${c.name} failed (${argv.join(' ')}): ${r.stderr || r.error}`);
    }
  }
}

function containerOf(objs, ref) {
  const [kind, name, cname] = ref.split('/');
  const obj = find(objs, kind, name);
  if (!obj) throw new Error(`${kind}/${name} is not in the rendering`);
  const spec = podSpec(obj);
  const c = (spec.containers || []).find((x) => x.name === cname);
  if (!c) throw new Error(`${ref}: no such container`);
  return { obj, c };
}

// Whether a pod spec's nodeSelector and required node affinity admit a node
// with these labels (an object), as the scheduler decides: any term of
// nodeSelectorTerms, all expressions of a term; an empty term matches nothing.
function admits(spec, labels) {
  const has = (k) => Object.prototype.hasOwnProperty.call(labels, k);
  for (const [k, v] of Object.entries(spec.nodeSelector || {})) if (labels[k] !== v) return false;
  const na = spec.affinity && spec.affinity.nodeAffinity;
  const req = na && na.requiredDuringSchedulingIgnoredDuringExecution;
  if (!req) return true;
  return (req.nodeSelectorTerms || []).some((t) => {
    if (t.matchFields) throw new Error('nodeAffinity: matchFields not supported here');
    const exprs = t.matchExpressions || [];
    return exprs.length > 0 && exprs.every((e) => {
      const v = labels[e.key];
      switch (e.operator) {
        case 'In': return has(e.key) && e.values.includes(v);
        case 'NotIn': return !has(e.key) || !e.values.includes(v);
        case 'Exists': return has(e.key);
        case 'DoesNotExist': return !has(e.key);
        case 'Gt': return has(e.key) && Number(v) > Number(e.values[0]);
        case 'Lt': return has(e.key) && Number(v) < Number(e.values[0]);
        default: throw new Error(`nodeAffinity: unknown operator ${e.operator}`);
      }
    });
  });
}

// The platforms deploy/docker/Dockerfile.agent builds the agent image for, as
// nodes label them (kubernetes.io/arch; linux/arm/v7 is "arm").
// docker-lint.sh checks this list against the Dockerfile and the base.
const AGENT_IMAGE_ARCHES = ['amd64', 'arm64', 'arm'];
const OTHER_ARCHES = ['386', 'ppc64le', 's390x', 'riscv64', 'mips64le'];

// ---- the checks ----------------------------------------------------------

function checks(objs) {
  const errors = [];
  const need = (cond, msg) => { if (!cond) errors.push(msg); };
  const port = (hostPort) => Number(String(hostPort).split(':').pop());

  const ds = find(objs, 'DaemonSet', 'edgefed-agent');
  // The server: a StatefulSet of one (SQLite) or a Deployment of replicas
  // on PostgreSQL (replicas-postgres); never both.
  const serverSts = find(objs, 'StatefulSet', 'edgefed-server');
  const serverDep = find(objs, 'Deployment', 'edgefed-server');
  need(!(serverSts && serverDep), 'edgefed-server is both a StatefulSet and a Deployment');
  const sts = serverSts || serverDep;
  need(ds, 'DaemonSet edgefed-agent missing');
  if (!ds) return errors;
  // Without a server workload the overlay runs agents only (external-server):
  // the aggregator is the rack server's systemd service.

  // Every pod: non-root, read-only root filesystem, no capabilities, limits
  // (the database's too, where the overlay runs one).
  const workloads = objs.filter((o) => ['DaemonSet', 'StatefulSet', 'Deployment'].includes(o.kind));
  for (const obj of workloads) {
    const spec = podSpec(obj);
    const id = `${obj.kind}/${obj.metadata.name}`;
    need(spec.automountServiceAccountToken === false, `${id}: automountServiceAccountToken must be false`);
    need(spec.nodeSelector && Object.keys(spec.nodeSelector).length > 0, `${id}: nodeSelector missing`);
    need((spec.tolerations || []).length > 0, `${id}: tolerations missing`);
    const seccomp = spec.securityContext && spec.securityContext.seccompProfile;
    need(seccomp && seccomp.type === 'RuntimeDefault', `${id}: seccompProfile RuntimeDefault`);
    for (const c of spec.containers) {
      const sc = c.securityContext || {};
      const podSc = spec.securityContext || {};
      need((sc.runAsNonRoot ?? podSc.runAsNonRoot) === true, `${id}/${c.name}: runAsNonRoot`);
      need(sc.readOnlyRootFilesystem === true, `${id}/${c.name}: readOnlyRootFilesystem`);
      need(sc.allowPrivilegeEscalation === false, `${id}/${c.name}: allowPrivilegeEscalation false`);
      need(sc.capabilities && (sc.capabilities.drop || []).includes('ALL'), `${id}/${c.name}: drop ALL`);
      need(c.resources && c.resources.requests && c.resources.limits && c.resources.limits.memory,
        `${id}/${c.name}: resource requests and a memory limit`);
      need(c.livenessProbe && c.readinessProbe, `${id}/${c.name}: liveness and readiness probes`);
      need(!(c.command || c.args), `${id}/${c.name}: the image's entrypoint runs, configured by EDGEFED_* only`);
      // Probes and named ports refer to declared container ports.
      const names = new Map((c.ports || []).map((p) => [p.name, p.containerPort]));
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        const hg = probe && probe.httpGet;
        if (hg && typeof hg.port === 'string') need(names.has(hg.port), `${id}/${c.name}: probe port ${hg.port} undeclared`);
      }
      // Every EDGEFED_* path lies under a mounted volume (the root filesystem
      // is read-only and holds no configuration).
      const env = resolveEnv(objs, obj, c, 'node-a');
      const ms = mounts(obj, c);
      for (const [k, v] of env) {
        if (!k.startsWith('EDGEFED_')) continue;
        for (const p of v.match(/(?:^|[:=])\/(?!\/)[^:,]*/g) || []) {
          const path = p.replace(/^[:=]/, '');
          need(ms.some((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`)),
            `${id}/${c.name}: ${k}=${v}: ${path} is not under a volume mount`);
        }
      }
    }
  }

  // Pod Security Admission: hostPath volumes are outside "baseline", so a
  // namespace that enforces a level would refuse the agent pods.
  const ns = objs.find((o) => o.kind === 'Namespace' && o.metadata.name === ds.metadata.namespace);
  const level = ns && ns.metadata.labels && ns.metadata.labels['pod-security.kubernetes.io/enforce'];
  const usesHostPath = (podSpec(ds).volumes || []).some((v) => v.hostPath);
  need(!usesHostPath || !level || level === 'privileged',
    `Namespace ${ds.metadata.namespace}: enforce=${level} refuses the agent's hostPath volumes`);

  // Each pod runs one image (its init containers reuse the workload's).
  for (const [obj, role] of [[ds, 'agent'], [sts, 'server']]) {
    if (!obj) continue;
    const spec = podSpec(obj);
    const images = new Set([...(spec.initContainers || []), ...spec.containers].map((c) => c.image));
    need(images.size === 1 && [...images][0].split(':')[0].endsWith(`edgefed-${role}`),
      `${obj.kind}/${obj.metadata.name}: one image, edgefed-${role} (got ${[...images].join(', ')})`);
  }

  // Init containers: no privilege beyond what chown of a hostPath needs.
  for (const obj of workloads) {
    for (const c of podSpec(obj).initContainers || []) {
      const id = `${obj.kind}/${obj.metadata.name}/init/${c.name}`;
      const sc = c.securityContext || {};
      need(sc.allowPrivilegeEscalation === false && sc.readOnlyRootFilesystem === true &&
           sc.capabilities && (sc.capabilities.drop || []).includes('ALL'), `${id}: hardened securityContext`);
      const added = (sc.capabilities && sc.capabilities.add) || [];
      need(added.every((a) => a === 'CHOWN' || a === 'FOWNER'), `${id}: adds capabilities beyond CHOWN, FOWNER`);
      if (sc.runAsUser === 0) {
        need(added.length > 0, `${id}: root without a reason (no capability added)`);
      } else {
        const podSc = podSpec(obj).securityContext || {};
        need((sc.runAsNonRoot ?? podSc.runAsNonRoot) === true, `${id}: runAsNonRoot`);
      }
      need(c.resources && c.resources.limits, `${id}: resource limits`);
    }
  }

  // Agent: downward-API node name, outbox on the node, rolling update.
  const agent = podSpec(ds).containers[0];
  const aenv = resolveEnv(objs, ds, agent, 'node-a');
  const nodeName = (agent.env || []).find((e) => e.name === 'NODE_NAME');
  need(nodeName && nodeName.valueFrom && nodeName.valueFrom.fieldRef &&
       nodeName.valueFrom.fieldRef.fieldPath === 'spec.nodeName', 'agent: NODE_NAME from spec.nodeName');
  const outbox = mounts(ds, agent).find((m) => m.mountPath === aenv.get('EDGEFED_STATE_DIR'));
  need(outbox && outbox.type === 'hostPath' && !outbox.readOnly, 'agent: EDGEFED_STATE_DIR must be a writable hostPath mount');
  // Agent: Linux nodes of the image's architectures only, by required node
  // affinity (the nodeSelector picks edge nodes, the affinity the platform).
  const aspec = podSpec(ds);
  const na = aspec.affinity && aspec.affinity.nodeAffinity;
  need(na && na.requiredDuringSchedulingIgnoredDuringExecution,
    'agent: required node affinity (kubernetes.io/os, kubernetes.io/arch) missing');
  const edge = { ...(aspec.nodeSelector || {}) };
  const admitted = [...AGENT_IMAGE_ARCHES, ...OTHER_ARCHES].filter((arch) =>
    admits(aspec, { ...edge, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch }));
  need(admitted.length > 0, 'agent: node affinity admits no architecture');
  need(admitted.every((a) => AGENT_IMAGE_ARCHES.includes(a)),
    `agent: node affinity admits ${admitted.join(', ')}; the image has ${AGENT_IMAGE_ARCHES.join(', ')} only`);
  need(!admits(aspec, { ...edge, 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64' }),
    'agent: node affinity admits Windows nodes');
  need(!admits(aspec, { ...edge, 'kubernetes.io/os': 'linux' }),
    'agent: node affinity admits a node without kubernetes.io/arch');
  const ru = ds.spec.updateStrategy || {};
  need(ru.type === 'RollingUpdate' && ru.rollingUpdate && ru.rollingUpdate.maxUnavailable !== undefined,
    'agent: RollingUpdate with maxUnavailable');
  need(/^https:\/\/[^/]+:\d+$/.test(aenv.get('EDGEFED_SERVER') || ''), 'agent: EDGEFED_SERVER is https://HOST:PORT');
  for (const k of ['EDGEFED_CA', 'EDGEFED_CERT', 'EDGEFED_KEY', 'EDGEFED_DATA']) need(aenv.has(k), `agent: ${k} missing`);

  const url = new URL(aenv.get('EDGEFED_SERVER') || 'https://invalid:1');
  const nps = objs.filter((o) => o.kind === 'NetworkPolicy');
  need(nps.some((n) => Object.keys(n.spec.podSelector || {}).length === 0 && !n.spec.ingress && !n.spec.egress &&
       (n.spec.policyTypes || []).length === 2), 'NetworkPolicy: default deny missing');
  const anp = nps.find((n) => n.metadata.name === 'edgefed-agent');
  need(anp && (anp.spec.ingress || []).length === 0, 'NetworkPolicy edgefed-agent: no ingress');
  if (!sts) {
    need(anp && anp.spec.egress.some((r) => (r.to || []).some((t) => t.ipBlock) &&
         r.ports.some((p) => p.port === Number(url.port))),
      `NetworkPolicy edgefed-agent: egress to the external server's address on port ${url.port}`);
    need(!objs.some((o) => o.kind === 'Service' || o.kind === 'ServiceMonitor'), 'agents-only overlay keeps server objects');
    return errors;
  }

  // Server: state on the claim, ports, probes, scrape annotations.
  const server = podSpec(sts).containers[0];
  const senv = resolveEnv(objs, sts, server, 'node-a');
  // A site relay (docs/relays.md): its central server, identity and uplink.
  const upstream = senv.get('EDGEFED_UPSTREAM') || '';
  if (upstream) {
    need(/^https:\/\/[^/:]+:\d+$/.test(upstream), `server: EDGEFED_UPSTREAM ${upstream} is not https://HOST:PORT`);
    for (const k of ['EDGEFED_UPSTREAM_CA', 'EDGEFED_UPSTREAM_CERT', 'EDGEFED_UPSTREAM_KEY'])
      need(senv.get(k), `server: relay without ${k}`);
    const upPort = Number((upstream.match(/:(\d+)$/) || [])[1]);
    const snpr = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'edgefed-server');
    need(snpr && (snpr.spec.egress || []).some((r) => (r.ports || []).some((p) => p.port === upPort)),
      `NetworkPolicy edgefed-server: the relay has no egress to its central server's port ${upPort}`);
  }
  const store = senv.get('EDGEFED_STORE') || 'sqlite';
  const smounts = mounts(sts, server);
  if (!/^postgres(ql)?:\/\//.test(store)) {
    const state = smounts.find((m) => m.mountPath === senv.get('EDGEFED_STATE_DIR'));
    need(state && state.type === 'pvc', 'server: EDGEFED_STATE_DIR must be the PersistentVolumeClaim mount');
    need(sts.kind === 'StatefulSet' && sts.spec.replicas === 1, 'server: exactly one replica (single SQLite writer)');
  } else {
    // Replicas on PostgreSQL (docs/replicas.md).
    const replicas = sts.spec.replicas ?? 1;
    need(replicas >= 2, `server: PostgreSQL store with ${replicas} replica(s): run at least 2`);
    const url = new URL(store.replace(/^postgres(ql)?:/, 'http:'));
    need(!url.password && !/[?&]password=/.test(store), 'server: EDGEFED_STORE carries a password');
    const pwf = senv.get('EDGEFED_STORE_PASSWORD_FILE') || '';
    need(smounts.some((m) => m.type === 'secret' && pwf.startsWith(`${m.mountPath}/`)),
      'server: EDGEFED_STORE_PASSWORD_FILE must be a file of a Secret volume');
    const rn = (server.env || []).find((e) => e.name === 'EDGEFED_REPLICA_NAME');
    need(rn && rn.valueFrom && rn.valueFrom.fieldRef && rn.valueFrom.fieldRef.fieldPath === 'metadata.name',
      'server: EDGEFED_REPLICA_NAME from metadata.name (unique per pod)');
    const labels = sts.spec.template.metadata.labels || {};
    const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget' && o.spec.selector && o.spec.selector.matchLabels &&
      Object.entries(o.spec.selector.matchLabels).every(([k, v]) => labels[k] === v));
    need(pdb, 'server: no PodDisruptionBudget selects the server replicas');
    if (pdb) {
      const min = pdb.spec.minAvailable;
      need(typeof min === 'number' && min >= 1 && min < replicas,
        `server: PodDisruptionBudget minAvailable ${min} must be in 1..${replicas - 1}`);
    }
    // An in-cluster database: its Service, port and NetworkPolicy agree.
    const dbSvc = find(objs, 'Service', url.hostname.split('.')[0]);
    if (dbSvc) {
      const dbPort = Number(url.port || 5432);
      need(dbSvc.spec.ports.some((p) => p.port === dbPort), `server: EDGEFED_STORE port ${dbPort} not in Service ${dbSvc.metadata.name}`);
      const snp = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'edgefed-server');
      need(snp && (snp.spec.egress || []).some((r) => (r.ports || []).some((p) => p.port === dbPort)),
        `NetworkPolicy edgefed-server: no egress to the database port ${dbPort}`);
      const db = objs.find((o) => ['StatefulSet', 'Deployment'].includes(o.kind) &&
        Object.entries(dbSvc.spec.selector || {}).every(([k, v]) => (o.spec.template.metadata.labels || {})[k] === v));
      need(db, `Service ${dbSvc.metadata.name}: no workload behind it`);
      const dnp = objs.find((o) => o.kind === 'NetworkPolicy' && db &&
        Object.entries(o.spec.podSelector.matchLabels || {}).every(([k, v]) => (db.spec.template.metadata.labels || {})[k] === v) &&
        Object.keys(o.spec.podSelector.matchLabels || {}).length > 0);
      need(dnp && (dnp.spec.ingress || []).every((r) => (r.from || []).every((f) => f.podSelector &&
        f.podSelector.matchLabels && f.podSelector.matchLabels['app.kubernetes.io/name'] === 'edgefed-server')),
        'database NetworkPolicy: ingress from the server replicas only');
    }
  }
  const sports = new Map((server.ports || []).map((p) => [p.name, p.containerPort]));
  need(sports.get('https') === port(senv.get('EDGEFED_LISTEN') || '0.0.0.0:8443'),
    'server: containerPort https differs from EDGEFED_LISTEN');
  need(senv.has('EDGEFED_METRICS_LISTEN') && sports.get('metrics') === port(senv.get('EDGEFED_METRICS_LISTEN')),
    'server: containerPort metrics differs from EDGEFED_METRICS_LISTEN');
  const paths = [server.livenessProbe, server.readinessProbe].map((p) => p && p.httpGet && p.httpGet.path);
  need(paths[0] === '/healthz' && paths[1] === '/readyz', 'server: liveness /healthz, readiness /readyz');
  const ann = sts.spec.template.metadata.annotations || {};
  need(ann['prometheus.io/scrape'] === 'true' && Number(ann['prometheus.io/port']) === sports.get('metrics') &&
       ann['prometheus.io/path'] === '/metrics', 'server: prometheus.io annotations match the metrics port');

  // Services target declared ports; the agents' URL names the Service.
  const serverLabels = sts.spec.template.metadata.labels || {};
  const selectsServer = (svc) => Object.keys(svc.spec.selector || {}).length > 0 &&
    Object.entries(svc.spec.selector).every(([k, v]) => serverLabels[k] === v);
  for (const svc of objs.filter((o) => o.kind === 'Service' && selectsServer(o))) {
    for (const p of svc.spec.ports) {
      if (typeof p.targetPort === 'string') need(sports.has(p.targetPort), `Service ${svc.metadata.name}: targetPort ${p.targetPort}`);
    }
  }
  const svcName = url.hostname.split('.')[0];
  const svc = find(objs, 'Service', svcName);
  need(svc && svc.spec.ports.some((p) => p.port === Number(url.port) && p.targetPort === 'https'),
    `agent: EDGEFED_SERVER ${url.href} is not the server Service's https port`);

  // NetworkPolicy: the agent may reach the server port only.
  need(anp && anp.spec.egress.some((r) => r.ports.some((p) => p.port === sports.get('https'))),
    'NetworkPolicy edgefed-agent: egress to the server port');
  const snp = nps.find((n) => n.metadata.name === 'edgefed-server');
  need(snp && snp.spec.ingress.some((r) => r.ports.some((p) => p.port === sports.get('metrics'))),
    'NetworkPolicy edgefed-server: ingress for the scraper on the metrics port');

  // ServiceMonitor (optional component): its port is a Service port name.
  for (const sm of objs.filter((o) => o.kind === 'ServiceMonitor')) {
    for (const ep of sm.spec.endpoints) {
      need(svc && svc.spec.ports.some((p) => p.name === ep.port), `ServiceMonitor: port ${ep.port} not in Service`);
    }
  }
  return errors;
}

function main(argv) {
  const objs = load(argv[0]);
  if (argv[1] === '--env') {
    const { obj, c } = containerOf(objs, argv[2]);
    const ms = mounts(obj, c);
    for (const [k, v] of resolveEnv(objs, obj, c, argv[4] || 'node-a')) {
      process.stdout.write(`${k}=${reroot(v, ms, argv[3])}\n`);
    }
    return 0;
  }
  if (argv[1] === '--materialize') {
    // --materialize KIND/NAME ROOT SECRETS.yaml NODE
    const [kind, name] = argv[2].split('/');
    const obj = find(objs, kind, name);
    if (!obj) throw new Error(`${argv[2]} is not in the rendering`);
    materialize(objs, load(argv[4]), obj, argv[3], argv[5] || 'node-a');
    return 0;
  }
  if (argv[1] === '--probe') {
    // --probe KIND/NAME/CONTAINER ROOT startup|readiness|liveness
    // exec probes run here (paths moved under ROOT), exit with their status;
    // httpGet probes print "SCHEME PORT PATH" with the port as a number.
    const { obj, c } = containerOf(objs, argv[2]);
    const probe = c[`${argv[4]}Probe`];
    if (!probe) throw new Error(`${argv[2]} has no ${argv[4]} probe`);
    if (probe.exec) {
      const argvp = probe.exec.command.map((a) => reroot(a, mounts(obj, c), argv[3]));
      const r = require('child_process').spawnSync(argvp[0], argvp.slice(1), { stdio: 'inherit' });
      return r.status === null ? 1 : r.status;
    }
    if (probe.httpGet) {
      const hg = probe.httpGet;
      const portNum = typeof hg.port === 'number' ? hg.port
        : (c.ports || []).find((p) => p.name === hg.port).containerPort;
      process.stdout.write(`${(hg.scheme || 'HTTP').toLowerCase()} ${portNum} ${hg.path}\n`);
      return 0;
    }
    throw new Error(`${argv[2]}: ${argv[4]} probe is neither exec nor httpGet`);
  }
  if (argv[1] === '--mounts') {
    const { obj, c } = containerOf(objs, argv[2]);
    for (const m of mounts(obj, c)) process.stdout.write(`${m.mountPath} ${m.type} ${m.source}\n`);
    return 0;
  }
  if (argv[1] === '--admits') {
    const [kind, name] = argv[2].split('/');
    const obj = find(objs, kind, name);
    if (!obj) throw new Error(`${argv[2]} is not in the rendering`);
    const labels = Object.fromEntries(argv.slice(3).map((l) => {
      const i = l.indexOf('=');
      if (i <= 0) throw new Error(`--admits: ${l} is not LABEL=VALUE`);
      return [l.slice(0, i), l.slice(i + 1)];
    }));
    process.stdout.write(admits(podSpec(obj), labels) ? 'admitted\n' : 'refused\n');
    return 0;
  }
  const errors = checks(objs);
  for (const e of errors) process.stdout.write(`FAIL ${e}\n`);
  process.stdout.write(errors.length ? `${errors.length} check(s) failed\n` : 'manifest checks: ok\n');
  return errors.length ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
