// After `vite build`: writes into dist/index.html which chunks (JS and CSS)
// each app needs, so the boot script can fetch them in parallel with the
// entry, then writes a gzip copy (level 9) next to every .js, .css, .svg and
// .html for the server to send to clients that accept gzip. It also writes
// into dist/sw.js (the service worker, web/public/sw.js) the files the phone
// app and the door page keep for offline use and a build id, which names
// the worker's cache (a new build, a new cache; the old one is deleted).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const manifestPath = path.join(dist, '.vite', 'manifest.json');
const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry);
const entry = manifest[entryKey];

function closure(key, seen = new Set(), files = []) {
  const m = manifest[key];
  if (!m || seen.has(key)) return files;
  seen.add(key);
  files.push('/' + m.file);
  for (const c of m.css || []) files.push('/' + c);
  for (const i of m.imports || []) closure(i, seen, files);
  return files;
}

// Which app a chunk the entry imports starts: by its source, or by the pages it loads.
function appOf(key) {
  const m = manifest[key];
  const hints = [m.src || '', ...(m.dynamicImports || [])].join(' ');
  for (const app of ['door', 'phone', 'desktop']) if (hints.includes(`src/${app}/`)) return app;
  return null;
}

// Each app's files, its main chunk first: the boot script imports that one
// itself, so a page never loads the entry chunk (or what the entry imports).
const map = {};
for (const key of entry.dynamicImports || []) {
  const app = appOf(key);
  if (!app) throw new Error(`postbuild: cannot tell which app ${key} starts`);
  map[app] = [...new Set(closure(key))];
}
for (const app of ['door', 'phone', 'desktop']) if (!map[app]) throw new Error(`postbuild: no chunk for the ${app} app`);
const indexPath = path.join(dist, 'index.html');
let html = fs.readFileSync(indexPath, 'utf8');
if (!html.includes('{}/*WG_CHUNKS*/')) throw new Error('postbuild: index.html lacks the WG_CHUNKS marker');
html = html.replace('{}/*WG_CHUNKS*/', JSON.stringify(map));
// The entry script and what it preloads are for development only (see above).
const before = html.length;
html = html.replace(new RegExp(`<script type="module" crossorigin src="/${entry.file}"></script>\\s*`), '');
if (html.length === before) throw new Error('postbuild: the entry script tag was not found in index.html');
html = html.replace(/<link rel="modulepreload" crossorigin href="[^"]*">\s*/g, '');

fs.writeFileSync(indexPath, html);

// Everything an app may load, lazily loaded pages included: the service worker keeps it.
function reach(key, seen = new Set(), files = []) {
  const m = manifest[key];
  if (!m || seen.has(key)) return files;
  seen.add(key);
  files.push('/' + m.file);
  for (const c of m.css || []) files.push('/' + c);
  for (const a of m.assets || []) files.push('/' + a);
  for (const i of [...(m.imports || []), ...(m.dynamicImports || [])]) reach(i, seen, files);
  return files;
}
const offline = {};
for (const key of entry.dynamicImports || []) {
  const app = appOf(key);
  if (app === 'phone' || app === 'door') offline[app] = [...new Set(reach(key))].sort();
}
const swPath = path.join(dist, 'sw.js');
let sw = fs.readFileSync(swPath, 'utf8');
if (!sw.includes("'dev'/*WG_SW_BUILD*/") || !sw.includes('{}/*WG_SW_FILES*/')) throw new Error('postbuild: sw.js lacks its markers');
const build = crypto.createHash('sha256').update(JSON.stringify(offline)).update(html).update(sw).digest('hex').slice(0, 16);
sw = sw.replace("'dev'/*WG_SW_BUILD*/", JSON.stringify(build)).replace('{}/*WG_SW_FILES*/', JSON.stringify(offline));
fs.writeFileSync(swPath, sw);
fs.rmSync(path.join(dist, '.vite'), { recursive: true, force: true });

let n = 0;
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(js|css|svg|html)$/.test(e.name)) {
      fs.writeFileSync(p + '.gz', zlib.gzipSync(fs.readFileSync(p), { level: 9 }));
      n++;
    }
  }
})(dist);
console.log(`postbuild: chunk map for ${Object.keys(map).join(', ')}; service worker build ${build} (phone ${offline.phone.length} files, door ${offline.door.length}); ${n} files gzipped`);
