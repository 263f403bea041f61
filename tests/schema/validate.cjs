#!/usr/bin/env node
// Validates JSON files against edgefed's schemas with ajv (JSON Schema 2020-12).
//
//   node validate.cjs --schemas DIR --valid DIR   [--every-schema]
//   node validate.cjs --schemas DIR --invalid DIR [--every-schema]
//
// Example directories hold one folder per schema, named after it:
// DIR/task/*.json is checked against schemas/task.schema.json. With --valid
// every file must validate, with --invalid every file must be rejected.
// --every-schema also fails when some body schema has no example folder.
// Exit status 0 when every expectation holds, 1 otherwise, 2 on bad usage.
'use strict';

const fs = require('fs');
const path = require('path');

let Ajv2020;
try {
  Ajv2020 = require('ajv/dist/2020');
} catch (e) {
  console.error(`ajv is not installed in ${__dirname}/node_modules: run "npm ci" there ` +
    '(deploy/install-deps.sh does)');
  process.exit(1);
}

function usage(msg) {
  if (msg) console.error(msg);
  console.error('usage: validate.cjs --schemas DIR (--valid DIR | --invalid DIR) [--every-schema]');
  process.exit(2);
}

const args = process.argv.slice(2);
let schemasDir = null;
let examplesDir = null;
let expectValid = null;
let everySchema = false;
for (let i = 0; i < args.length; i++) {
  switch (args[i]) {
    case '--schemas': schemasDir = args[++i]; break;
    case '--valid': examplesDir = args[++i]; expectValid = true; break;
    case '--invalid': examplesDir = args[++i]; expectValid = false; break;
    case '--every-schema': everySchema = true; break;
    default: usage(`unknown argument ${args[i]}`);
  }
}
if (!schemasDir || !examplesDir) usage();

// strict mode turns schema typos (unknown keywords, misplaced constraints)
// into errors instead of silently accepting everything.
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
const suffix = '.schema.json';
const bodies = [];
for (const file of fs.readdirSync(schemasDir).sort()) {
  if (!file.endsWith(suffix)) continue;
  const schema = JSON.parse(fs.readFileSync(path.join(schemasDir, file), 'utf8'));
  ajv.addSchema(schema, file.slice(0, -suffix.length));
  if (file !== 'defs' + suffix) bodies.push(file.slice(0, -suffix.length));
}

let failures = 0;
let checked = 0;
const fail = (msg) => { console.log(`FAIL ${msg}`); failures++; };

for (const name of bodies) {
  try {
    ajv.getSchema(name);  // compiles, resolving every $ref
  } catch (e) {
    fail(`schema ${name} does not compile: ${e.message}`);
  }
}

const folders = fs.readdirSync(examplesDir, { withFileTypes: true }).filter((d) => d.isDirectory());
for (const folder of folders.map((d) => d.name).sort()) {
  if (!bodies.includes(folder)) {
    fail(`${folder}/: no schema ${folder}${suffix} in ${schemasDir}`);
    continue;
  }
  const validate = ajv.getSchema(folder);
  if (!validate) continue;
  const dir = path.join(examplesDir, folder);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) fail(`${folder}/: no examples`);
  for (const f of files) {
    const rel = `${folder}/${f}`;
    let data;
    try {
      data = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    } catch (e) {
      fail(`${rel}: not JSON (${e.message}); examples must be well-formed JSON`);
      continue;
    }
    checked++;
    const ok = validate(data);
    if (ok === expectValid) {
      const why = ok ? '' : `  (${ajv.errorsText(validate.errors, { separator: '; ' })})`;
      console.log(`ok   ${rel}${why}`);
    } else if (expectValid) {
      fail(`${rel}: ${ajv.errorsText(validate.errors, { separator: '; ' })}`);
    } else {
      fail(`${rel}: the schema accepts it, but it must be rejected`);
    }
  }
}

if (everySchema) {
  for (const name of bodies) {
    if (!folders.some((d) => d.name === name)) fail(`schema ${name} has no examples in ${examplesDir}`);
  }
}

console.log(`${checked} files checked against ${bodies.length} schemas, ${failures} failure(s)`);
process.exit(failures === 0 ? 0 : 1);
