'use strict';
// docs/api.md stays true to the code: every route the server has is
// documented under a "### METHOD /path" heading, and nothing documented
// that way is missing from the server.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { run, ROOT } = require('./helpers');

test('every route is documented and every documented route exists', () => {
  const out = run(['routes']);
  assert.equal(out.code, 0, out.stderr);
  const routes = out.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 2).join(' '));
  assert.ok(routes.length > 20);
  const doc = fs.readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
  const documented = [...doc.matchAll(/^### (GET|POST|PUT|PATCH|DELETE) (\S+)\s*$/gm)].map((m) => `${m[1]} ${m[2]}`);
  const missing = routes.filter((r) => !documented.includes(r));
  assert.deepEqual(missing, [], 'routes without a section in docs/api.md');
  const stale = documented.filter((d) => !routes.includes(d));
  assert.deepEqual(stale, [], 'sections in docs/api.md for routes the server does not have');
});

test('the listing at the top of docs/api.md is the program\'s own', () => {
  const out = run(['routes']);
  assert.equal(out.code, 0, out.stderr);
  const doc = fs.readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
  const block = doc.match(/```\n\$ wangge routes\n([\s\S]*?)```/);
  assert.ok(block, 'docs/api.md starts with the output of `wangge routes`');
  const tidy = (t) => t.trim().split('\n').map((l) => l.trimEnd()).join('\n');
  assert.equal(tidy(block[1]), tidy(out.stdout));
});
