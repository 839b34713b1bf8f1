// DuckDB's side of the tracing benchmark:  node duck.mjs PREFIX SQLDIR TIMEOUT_S [WORKDIR]
// Loads PREFIX.csv with read_csv (timed: the CSV-load comparison), then runs
// Q1, Q2, Q3, Q3r from SQLDIR; a query past TIMEOUT_S is interrupted. Then
// Q3 written out: COPY (SELECT DISTINCT ...) TO WORKDIR/pairs_duckdb.csv
// (q3copy.sql), three times, with the count and checksum of the file.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { csvSum } from './csvsum.mjs';

const [prefix, sqlDir, timeoutArg, workArg] = process.argv.slice(2);
const workDir = workArg || tmpdir();
const timeoutMs = Number(timeoutArg) * 1000;
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();

async function timed(sql) {
  const t0 = performance.now();
  const timer = setTimeout(() => con.interrupt(), timeoutMs);
  try {
    const reader = await con.runAndReadAll(sql);
    return { ms: performance.now() - t0, rows: reader.getRows() };
  } catch (e) {
    return { ms: performance.now() - t0, error: String(e.message || e) };
  } finally {
    clearTimeout(timer);
  }
}

const load = await timed(`CREATE TABLE scans AS SELECT * FROM read_csv('${prefix}.csv', header = false,
  columns = {'person': 'INTEGER', 'venue': 'INTEGER', 't_in': 'BIGINT', 't_out': 'BIGINT'})`);
if (load.error) { console.error(load.error); process.exit(1); }
console.log(`RESULT load_csv ${load.ms.toFixed(1)}`);
for (const [table, file] of [['cases', 'cases'], ['cases_random', 'cases_random']]) {
  await con.run(`CREATE TABLE ${table} AS SELECT * FROM read_csv('${prefix}.${file}.csv', header = true,
    columns = {'person': 'INTEGER', 'onset': 'BIGINT'})`);
}

const median = (v) => {
  const t = [...v].sort((a, b) => a - b), n = t.length;
  return n % 2 ? t[(n - 1) / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
};

for (const [name, runs] of [['q1', 11], ['q2', 3], ['q3', 3], ['q3r', 3]]) {
  if (process.env.DUCK_ONLY && !process.env.DUCK_ONLY.split(',').includes(name)) continue;
  const sql = readFileSync(`${sqlDir}/${name}.sql`, 'utf8');
  const times = [];
  let last = null;
  for (let i = 0; i < runs; i++) {
    const r = await timed(sql);
    if (r.error) { last = r; break; }
    times.push(r.ms);
    last = r;
    if (r.ms > 20000) break;
  }
  if (!times.length) {
    console.log(`RESULT ${name} timeout ${timeoutMs} ${last.error.replace(/\s+/g, ' ').slice(0, 60)}`);
    continue;
  }
  const [count, sum] = last.rows[0];
  console.log(`RESULT ${name} ${median(times).toFixed(3)} ${count} ${sum}`);
}

{
  const out = `${workDir}/pairs_duckdb.csv`;
  const sql = readFileSync(`${sqlDir}/q3copy.sql`, 'utf8').replaceAll('@OUT@', out);
  const times = [];
  for (let i = 0; i < 3; i++) {
    const r = await timed(sql);
    if (r.error) { console.log(`RESULT q3_csv timeout ${timeoutMs} ${r.error.replace(/\s+/g, ' ').slice(0, 60)}`); break; }
    times.push(r.ms);
  }
  if (times.length === 3) {
    const { count, sum } = csvSum(out);
    console.log(`RESULT q3_csv ${median(times).toFixed(3)} ${count} ${sum}`);
  }
  rmSync(out, { force: true });
}
