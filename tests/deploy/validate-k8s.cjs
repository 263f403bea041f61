#!/usr/bin/env node
// Offline validation of Kubernetes objects (multi-document YAML files, or
// stdin with "-") against the API schemas that the npm package
// kubernetes-models compiles from the Kubernetes OpenAPI definitions
// (@kubernetes-models/prometheus-operator for ServiceMonitor).
//
// Two passes per object, like kubeconform --strict:
//   1. schema: types, enums, formats and required fields (the package's own
//      validator).
//   2. strict: every key present in the object must be a property of its
//      schema. The compiled validators read exactly the properties their
//      schema declares (and enumerate the keys of maps), so the object is
//      validated through a Proxy that records which keys the validator read;
//      a key it never read is not in the schema: a misspelled or invented
//      field, which the API server would drop or refuse.
// An apiVersion/kind without a schema is an error (no silent pass).
//
// Usage: validate-k8s.cjs FILE|- ...   exit 0 if every object is valid.
//        --quiet   print only errors
'use strict';

const fs = require('fs');
const YAML = require('yaml');

// apiVersion -> module prefix holding one module per kind.
function modulePath(apiVersion, kind) {
  if (!/^[A-Za-z0-9]+$/.test(kind)) return null;
  if (apiVersion === 'monitoring.coreos.com/v1' || apiVersion === 'monitoring.coreos.com/v1alpha1') {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  }
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion)) return null;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

function loadModel(apiVersion, kind) {
  const path = modulePath(String(apiVersion), String(kind));
  if (!path) return null;
  try {
    const mod = require(path);
    const model = mod[kind] || mod.default;
    return typeof model === 'function' && model.prototype.validate ? model : null;
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return null;
    throw e;
  }
}

// Wraps `root` so that every key the validator reads is recorded per object.
function tracked(root) {
  const read = new Map(); // object -> Set of keys read
  const proxies = new WeakMap();
  function wrap(value) {
    if (value === null || typeof value !== 'object') return value;
    if (proxies.has(value)) return proxies.get(value);
    if (!read.has(value)) read.set(value, new Set());
    const keys = read.get(value);
    const proxy = new Proxy(value, {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && Object.prototype.hasOwnProperty.call(target, prop)) {
          keys.add(prop);
          return wrap(target[prop]);
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  }
  return { proxy: wrap(root), read };
}

function unknownKeys(root, read) {
  const out = [];
  function walk(value, path) {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}/${i}`));
      return;
    }
    const keys = read.get(value);
    for (const k of Object.keys(value)) {
      if (!keys || !keys.has(k)) {
        out.push(`${path}/${k}`);
      } else {
        walk(value[k], `${path}/${k}`);
      }
    }
  }
  walk(root, '');
  return out;
}

// Returns a list of error strings for one object.
function validateObject(obj) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return ['not a mapping'];
  if (!obj.apiVersion || !obj.kind) return ['apiVersion and kind are required'];
  const Model = loadModel(obj.apiVersion, obj.kind);
  if (!Model) return [`no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`];
  const errors = [];
  const { proxy, read } = tracked(obj);
  try {
    Model.prototype.validate.call(proxy);
  } catch (e) {
    errors.push(`schema: ${e.message}`);
  }
  for (const path of unknownKeys(obj, read)) {
    errors.push(`strict: unknown field ${path}`);
  }
  return errors;
}

function parseDocuments(text, source) {
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
  const out = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length) {
      out.push({ source, index: i, parseError: doc.errors.map((e) => e.message).join('; ') });
      return;
    }
    const value = doc.toJS({ maxAliasCount: 0 });
    if (value === null || value === undefined) return; // empty document
    out.push({ source, index: i, value });
  });
  return out;
}

function main(argv) {
  const quiet = argv.includes('--quiet');
  const files = argv.filter((a) => a !== '--quiet');
  if (files.length === 0) {
    process.stderr.write('usage: validate-k8s.cjs [--quiet] FILE|- ...\n');
    return 2;
  }
  let failed = 0;
  let count = 0;
  for (const file of files) {
    const text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
    for (const doc of parseDocuments(text, file === '-' ? 'stdin' : file)) {
      count++;
      const errors = doc.parseError ? [`yaml: ${doc.parseError}`] : validateObject(doc.value);
      const name = doc.value
        ? `${doc.value.kind || '?'}/${(doc.value.metadata && doc.value.metadata.name) || '?'}`
        : `document ${doc.index}`;
      if (errors.length) {
        failed++;
        for (const e of errors) process.stdout.write(`INVALID ${doc.source}: ${name}: ${e}\n`);
      } else if (!quiet) {
        process.stdout.write(`valid   ${doc.source}: ${name}\n`);
      }
    }
  }
  if (count === 0) {
    process.stdout.write('no objects found\n');
    return 1;
  }
  process.stdout.write(`${count - failed} valid, ${failed} invalid\n`);
  return failed ? 1 : 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
module.exports = { validateObject, parseDocuments };
