// DuckDB's side of the tracing benchmark:  node duck.mjs PREFIX SQLDIR TIMEOUT_S
// Loads PREFIX.csv with read_csv (timed: the CSV-load comparison), then runs
// Q1, Q2, Q3 from SQLDIR; a query past TIMEOUT_S is interrupted.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

const [prefix, sqlDir, timeoutArg] = process.argv.slice(2);
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
await con.run(`CREATE TABLE cases AS SELECT * FROM read_csv('${prefix}.cases.csv', header = true,
  columns = {'person': 'INTEGER', 'onset': 'BIGINT'})`);

for (const [name, runs] of [['q1', 11], ['q2', 3], ['q3', 3]]) {
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
  times.sort((a, b) => a - b);
  const n = times.length;
  const med = n % 2 ? times[(n - 1) / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  const [count, sum] = last.rows[0];
  console.log(`RESULT ${name} ${med.toFixed(3)} ${count} ${sum}`);
}
