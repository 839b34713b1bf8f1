// Test harness: starts real wangge servers (the sanitizer build) on loopback,
// each with its own fresh data directory and demo county, on SQLite or on
// the PostgreSQL server that tools/api_tests.sh started.
'use strict';
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const BIN = process.env.WG_BIN || path.join(ROOT, 'build/san/wangge');
const STORE = process.env.WG_STORE || 'sqlite';
const ADMIN_PASSWORD = 'admin-password-2026';
const DEMO_PASSWORD = 'wangge-demo-2026';
// Node ids the demo county always has (deterministic): county, first street,
// its first community, that community's first grid, that grid's first building.
const DEMO = { county: 1, street: 2, community: 3, grid: 4, building: 5 };
let serial = 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// What a run of the program must never print: the sanitizers' reports, and
// the store's report of a query cutting another's rows short.
const FAULT = /AddressSanitizer|runtime error:|LeakSanitizer|a query cut another's rows short/;

function run(args, input, bin = BIN) {
  const r = spawnSync(bin, args, { input, encoding: 'utf8', cwd: ROOT });
  if (FAULT.test(r.stderr || '')) throw new Error(`${args[0]}: ${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function makeDatabase() {
  if (STORE !== 'postgres') return null;
  const name = `wg_${process.pid}_${++serial}`;
  execFileSync(path.join(ROOT, 'tools/pg.sh'), ['createdb', process.env.WG_PG_DIR, process.env.WG_PG_PORT, name]);
  return `${process.env.WG_PG_URL}/${name}`;
}

// Creates a data directory with the demo county. conf: extra wangge.conf settings;
// bin: another build of the server (the example module's); persons: the size
// of the demo's synthetic population (0: places and accounts only).
function initData(conf = {}, bin = BIN, persons = 0) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-test-'));
  const db = makeDatabase();
  const args = ['init', '--data', dir, '--password-stdin', '--root-name', '测试县'];
  if (db) args.push('--db', db);
  let r = run(args, ADMIN_PASSWORD + '\n', bin);
  if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  // Cheap password hashing keeps the suite fast; production uses libsodium's interactive cost.
  const settings = { pwhash_ops: 1, pwhash_mem: 8192, ...conf };
  fs.appendFileSync(path.join(dir, 'wangge.conf'),
    Object.entries(settings).map(([k, v]) => `${k} = ${v}\n`).join(''));
  // Places and accounts only unless asked: each test makes the people it needs (the living demo has its own test).
  r = run(['demo', '--data', dir, '--persons', String(persons)], undefined, bin);
  if (r.code !== 0) throw new Error(`demo failed: ${r.stderr}`);
  return { dir, db };
}

// listen: the --listen value (default 127.0.0.1 on a free port); ready: a
// function that resolves once the server answers (default: /healthz over
// HTTP on that port).
async function startServer(conf = {}, existing = null, bin = BIN, { listen, ready } = {}) {
  const data = existing || initData(conf, bin);
  const port = await freePort();
  const child = spawn(bin, ['serve', '--data', data.dir, '--listen', listen || `127.0.0.1:${port}`],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', () => {});
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if (ready ? await ready() : (await fetch(`${base}/healthz`)).ok) break;
    } catch (e) {
      if (i > 200 || child.exitCode !== null) throw new Error(`server did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const server = {
    base, port, data, dir: data.dir, child,
    get stderr() { return stderr; },
    async stop() {
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      if (FAULT.test(stderr)) {
        throw new Error(`sanitizer report from the server:\n${stderr}`);
      }
      if (code !== 0) throw new Error(`server exited with ${code} ${signal}: ${stderr}`);
    },
    api: (method, p, opts) => api(base, method, p, opts),
    login: (username, password) => login(base, username, password),
    cli: (args, input) => run([...args, '--data', data.dir], input, bin),
  };
  return server;
}

async function api(base, method, p, { token, body, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!h['content-type']) h['content-type'] = 'application/json';
  }
  const res = await fetch(base + p, { method, headers: h, body: payload });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, json, text, headers: res.headers };
}

async function login(base, username, password = DEMO_PASSWORD) {
  const r = await api(base, 'POST', '/api/v1/session', { body: { username, password } });
  if (r.status !== 201) throw new Error(`login ${username}: ${r.status} ${r.text}`);
  return r.json.token;
}

// Runs SQL on a data directory's database behind the program's back (the
// server stopped, or for reading), returning psql's or sqlite3's output.
function sql(data, stmt) {
  if (STORE === 'postgres') {
    return execFileSync('psql', ['-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', data.db, '-c', stmt], { encoding: 'utf8' }).trim();
  }
  return execFileSync('sqlite3', [path.join(data.dir, 'wangge.db'), stmt], { encoding: 'utf8' }).trim();
}

module.exports = { sql, freePort, startServer, initData, api, login, run, ROOT, BIN, STORE, ADMIN_PASSWORD, DEMO_PASSWORD, DEMO };
