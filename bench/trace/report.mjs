// Summarises out/SIZE/*.txt into a markdown table:  node report.mjs DIR SIZE
import { readFileSync, existsSync } from 'node:fs';

const [dir, size] = process.argv.slice(2);
const engines = ['trace', 'sqlite', 'postgres', 'duckdb'];
const res = {};
for (const e of engines) {
  res[e] = {};
  // the CLI's runs (cli.txt) are the engine's too
  for (const f of (e === 'trace' ? ['trace', 'cli'] : [e]).map((x) => `${dir}/${x}.txt`)) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = line.match(/^RESULT (\S+) (\S+)(?: (\S+))?(?: (\S+))?/);
      if (m) res[e][m[1]] = { v: m[2], count: m[3], sum: m[4] };
    }
  }
}
const fmt = (r) => !r ? 'not run' : r.v === 'timeout' ? `> ${(Number(r.count) / 1000).toFixed(0)} s (cancelled)`
  : Number(r.v) >= 1000 ? `${(Number(r.v) / 1000).toFixed(2)} s` : `${Number(r.v).toFixed(3)} ms`;
const num = (r) => r && r.v !== 'timeout' ? Number(r.v) : null;
console.log(`### ${size}\n`);
const meta = readFileSync(`${dir}/data.meta`, 'utf8');
console.log('```\n' + meta.trim() + '\n```\n');
console.log('| measure | wangge trace | SQLite | PostgreSQL | DuckDB | fastest other / trace | answers agree |');
console.log('|---|---|---|---|---|---|---|');
for (const q of ['load_csv', 'q1', 'q2', 'q3', 'q3r', 'q3_csv']) {
  const t = res.trace[q];
  const others = ['sqlite', 'postgres', 'duckdb'].map((e) => res[e][q]);
  const best = Math.min(...others.map(num).filter((x) => x !== null));
  const ratio = num(t) && isFinite(best) ? `${(best / num(t)).toFixed(1)}×` : '–';
  let agree = '–';
  if (q !== 'load_csv' && t) {
    const checked = others.filter((r) => r && r.v !== 'timeout');
    const bad = checked.filter((r) => r.count !== t.count || r.sum !== t.sum);
    agree = bad.length ? `NO (${bad.map((r) => `${r.count}/${r.sum}`).join(', ')})`
      : `yes, ${checked.length} engines: ${t.count} rows, checksum ${t.sum}`;
  }
  console.log(`| ${q} | ${fmt(t)} | ${others.map(fmt).join(' | ')} | ${ratio} | ${agree} |`);
}
const x = res.trace;
console.log('');
if (x.load_bin) console.log(`- binary load: ${fmt(x.load_bin)} for ${x.load_bin.count} scans = ${(Number(x.load_bin.sum) / 1e6).toFixed(1)} M scans/s`);
if (x.load_csv) console.log(`- CSV load (read, parse, validate, sort, de-duplicate, write, fsync): ${(Number(x.load_csv.sum) / 1e6).toFixed(1)} M scans/s`);
if (x.open_build) console.log(`- open + index build: ${fmt(x.open_build)}; resident index ${x.open_build.sum} bytes/scan`);
if (x.disk) console.log(`- on disk: ${(Number(x.disk.v) / 1e6).toFixed(0)} MB for ${x.disk.count} scans = ${x.disk.sum} bytes/scan`);
console.log('\nq3: 1,000 cases, every onset at the end of the data (each looks back the whole window), distinct pairs;'
  + ' q3r: 1,000 cases with onsets spread over the days; q3_csv: the pairs written as CSV, `wangge trace batch'
  + ' --format csv > file` as a whole process against DuckDB\'s COPY (SELECT DISTINCT ...) TO file.\n');
if (x.q3_cpu) console.log(`- Q3 CPU time (all threads, user + system): ${fmt(x.q3_cpu)}`);
for (const q of ['q3', 'q3r']) {
  const ev = x[`${q}_evidence`];
  if (ev) console.log(`- ${q} with every pair ranked and its evidence (trace_batch_close): ${fmt(ev)}, CPU ${fmt(x[`${q}_evidence_cpu`])}`);
}
if (x.q3_csv_runs) console.log(`- \`wangge trace batch --format csv\` runs (ms): ${x.q3_csv_runs.v.replaceAll(',', ', ')}`);
if (x.oneshot_q1) console.log(`- one-shot query (open, load the index file, Q1, close): ${fmt(x.oneshot_q1)}; the first one after a load builds and saves the file: ${fmt(x.oneshot_build)}`);
if (x.disk_with_index && x.disk) console.log(`- on disk with the index file: ${(Number(x.disk_with_index.v) / 1e6).toFixed(0)} MB = ${(Number(x.disk_with_index.v) / Number(x.disk.count)).toFixed(2)} bytes/scan`);
if (x.q2_ordered) console.log(`- Q2 time-ordered rule (product default): ${fmt(x.q2_ordered)}, ${x.q2_ordered.count} persons`);
for (const e of ['sqlite', 'postgres']) if (res[e].index) console.log(`- ${e} index build: ${fmt(res[e].index)}`);
