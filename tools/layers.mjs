// Checks the architecture's arrows (docs/architecture.md §1):
//  1. no import circle: the graph "file A uses a function or variable that
//     file B defines", read off the compiled objects with nm, has no cycle;
//  2. src/core includes no domain header;
//  3. a domain includes another domain only through its public header
//     (src/<d>/<d>.h), and src/trace (the engine) nothing of the platform
//     beyond core/lib/{mem,parse,err}.h.
// Usage: node tools/layers.mjs build/obj   (after `make build/wangge`)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const objRoot = process.argv[2] || 'build/obj';
const problems = [];

function walk(dir, ext, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, ext, out);
    else if (e.name.endsWith(ext)) out.push(p);
  }
  return out;
}

// ---- 1. circles between files ----
// The objects of today's sources only (a moved file leaves its old object behind).
const objects = walk('src', '.c').filter((c) => c !== 'src/main.c')
  .map((c) => path.join(objRoot, c.replace(/\.c$/, '.o')));
const defines = new Map();   // symbol -> file
const uses = new Map();      // file -> Set(symbol)
for (const o of objects) {
  const file = path.relative(objRoot, o).replace(/\.o$/, '.c');
  if (!fs.existsSync(o)) { problems.push(`${file}: not built (make build/wangge first)`); continue; }
  const text = execFileSync('nm', ['-g', '--defined-only', o], { encoding: 'utf8' });
  for (const line of text.split('\n')) {
    const m = line.match(/^\S+\s+[TDBRC]\s+(\S+)$/);
    if (m) defines.set(m[1], file);
  }
  const undef = execFileSync('nm', ['-u', o], { encoding: 'utf8' });
  uses.set(file, new Set(undef.split('\n').map((l) => l.trim().replace(/^U\s+/, '')).filter(Boolean)));
}
const edges = new Map();
for (const [file, syms] of uses) {
  const to = new Set();
  for (const s of syms) {
    const d = defines.get(s);
    if (d && d !== file) to.add(d);
  }
  edges.set(file, to);
}
// Tarjan's strongly connected components.
let index = 0;
const idx = new Map(), low = new Map(), stack = [], on = new Set(), sccs = [];
function strong(v) {
  idx.set(v, index); low.set(v, index); index++;
  stack.push(v); on.add(v);
  for (const w of edges.get(v) || []) {
    if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const c = [];
    let w;
    do { w = stack.pop(); on.delete(w); c.push(w); } while (w !== v);
    if (c.length > 1) sccs.push(c);
  }
}
for (const v of edges.keys()) if (!idx.has(v)) strong(v);
for (const c of sccs) {
  const set = new Set(c);
  const why = [];
  for (const a of c) for (const b of edges.get(a)) if (set.has(b)) {
    const sym = [...uses.get(a)].find((s) => defines.get(s) === b);
    why.push(`${a} → ${b} (${sym})`);
  }
  problems.push(`import circle between ${c.sort().join(', ')}:\n    ${why.join('\n    ')}`);
}

// ---- 2 and 3. includes ----
const domains = fs.readdirSync('src', { withFileTypes: true })
  .filter((e) => e.isDirectory() && !['core', 'cli', 'trace'].includes(e.name)).map((e) => e.name);
const engineAllowed = new Set(['core/lib/mem.h', 'core/lib/parse.h', 'core/lib/err.h', 'core/lib/timefmt.h']);
for (const f of walk('src', '.c').concat(walk('src', '.h'))) {
  const rel = path.relative('src', f);
  const top = rel.split('/')[0];
  const text = fs.readFileSync(f, 'utf8');
  for (const m of text.matchAll(/#include "([^"]+)"/g)) {
    const inc = m[1];
    const incTop = inc.split('/')[0];
    if (top === 'core' && (domains.includes(incTop) || incTop === 'cli' || incTop === 'trace'))
      problems.push(`src/${rel}: core includes ${inc} (arrows point down: core knows no domain)`);
    if (top === 'trace' && incTop !== 'trace' && !engineAllowed.has(inc))
      problems.push(`src/${rel}: the engine includes ${inc} (only core/lib mem, parse, err, timefmt)`);
    if (domains.includes(top) && domains.includes(incTop) && incTop !== top && inc !== `${incTop}/${incTop}.h`)
      problems.push(`src/${rel}: includes ${inc}, a private header of ${incTop} (use ${incTop}/${incTop}.h)`);
    if (incTop === 'cli' && top !== 'cli' && rel !== 'main.c')
      problems.push(`src/${rel}: includes ${inc} (the CLI sits above everything)`);
  }
}

// ---- 4. tables ----
const owner = new Map();   // table or view -> module
const published = new Set();
for (const dir of ['core', ...domains]) {
  const schema = path.join('src', dir, 'schema');
  if (!fs.existsSync(schema)) continue;
  for (const f of walk(schema, '.sql')) {
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/CREATE\s+(TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)/gi)) {
      owner.set(m[2], dir);
      if (m[1].toUpperCase() === 'VIEW') published.add(m[2]);
    }
  }
}
for (const f of walk('src', '.c')) {
  const top = path.relative('src', f).split('/')[0];
  if (top !== 'core' && !domains.includes(top)) continue;
  const text = fs.readFileSync(f, 'utf8');
  for (const lit of text.matchAll(/"((?:[^"\\\n]|\\.)*)"/g)) {
    for (const m of lit[1].matchAll(/\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)/g)) {
      const o = owner.get(m[1]);
      if (!o || o === top || o === 'core') continue;
      if (top !== 'core' && published.has(m[1])) continue;
      problems.push(`${f}: SQL names ${m[1]}, a table of module ${o}` +
        (top === 'core' ? ' (core knows no module)' : ' (use its public view or header)'));
    }
  }
}

if (problems.length) {
  console.error('layers: ' + problems.join('\n  '));
  process.exit(1);
}
console.log(`layers: ok (${objects.length} files, no circle; includes point down)`);
