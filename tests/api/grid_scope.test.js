// Who may do what where on the grid tree: every demo role against every grid
// endpoint, on a node inside its scope and on one outside it.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ADMIN_PASSWORD, DEMO } = require('./helpers');
const { expectError, demoPlaces } = require('./expect');

// scope: the demo scope node; read/write: GRID_READ / GRID_WRITE.
const ROLES = [
  { user: 'admin', scope: DEMO.county, read: true, write: true },
  { user: 'command', scope: DEMO.county, read: true, write: true },
  { user: 'community', scope: DEMO.community, read: true, write: true },
  { user: 'partyadmin', scope: DEMO.street, read: true, write: false },
  { user: 'checkpoint', scope: DEMO.street, read: true, write: false },
  { user: 'commissioner', scope: DEMO.street, read: true, write: false },
  { user: 'gridworker', scope: DEMO.grid, read: true, write: false },
  { user: 'volunteer', scope: DEMO.grid, read: true, write: false },
  { user: 'auditor', scope: DEMO.county, read: false, write: false },
];

// A second grid of the demo community: inside every scope that has write rights.
let SIBLING_GRID;
let places;

let srv;
let admin;
const tokens = {};
const outsideGrid = {}; // scope node → a grid just outside that scope
const paths = {};       // node id → path
let serial = 0;

async function adminGet(id) {
  return srv.api('GET', `/api/v1/grids/${id}`, { token: admin });
}

async function building(parent) {
  const r = await srv.api('POST', '/api/v1/grids', {
    token: admin, body: { parent_id: parent, kind: 'building', name: `楼-${++serial}` },
  });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

before(async () => {
  srv = await startServer();
  admin = await srv.login('admin', ADMIN_PASSWORD);
  for (const role of ROLES) {
    tokens[role.user] = role.user === 'admin' ? admin : await srv.login(role.user);
  }
  places = await demoPlaces(srv, admin);
  SIBLING_GRID = places.siblingGrid;
  // Nearest outside grids: a sibling grid for a grid scope; a grid of the
  // next community for the community scope (its path such as /1/2/39/
  // shares the text prefix "/1/2/3"); a grid of another street for the street scope.
  outsideGrid[DEMO.grid] = SIBLING_GRID;
  outsideGrid[DEMO.community] = places.nearCommunityGrid;
  outsideGrid[DEMO.street] = places.otherStreetGrid;
  for (const id of [1, 2, 3, 4, SIBLING_GRID, ...Object.values(outsideGrid)]) {
    paths[id] = (await adminGet(id)).json.path;
  }
});
after(async () => { await srv.stop(); });

// Each operation: run(ctx) sends the request; the effect is checked by
// `done` when it was allowed and by `kept` when it was refused.
const OPS = [
  {
    name: 'list', write: false, ok: 200, notFoundField: 'grid',
    run: (c) => c.api('GET', `/api/v1/grids?grid=${c.home}&limit=1000`),
    done: (c, r) => {
      assert.ok(r.json.items.length > 0);
      for (const it of r.json.items) assert.ok(it.path.startsWith(paths[c.home]), it.path);
    },
  },
  {
    name: 'get', write: false, ok: 200,
    run: (c) => c.api('GET', `/api/v1/grids/${c.target.id}`),
    done: (c, r) => { assert.equal(r.json.id, c.target.id); assert.equal(r.json.path, c.target.path); },
  },
  {
    name: 'children', write: false, ok: 200,
    run: (c) => c.api('GET', `/api/v1/grids/${c.home}/children`),
    done: (c, r) => {
      assert.ok(r.json.items.some((it) => it.id === c.target.id));
      for (const it of r.json.items) assert.equal(it.parent_id, c.home);
    },
  },
  {
    name: 'create', write: true, ok: 201, notFoundField: 'parent_id',
    run: (c) => c.api('POST', '/api/v1/grids', { body: { parent_id: c.home, kind: 'building', name: c.name } }),
    done: async (c, r) => {
      assert.equal(r.json.path, `${paths[c.home]}${r.json.id}/`);
      assert.equal((await adminGet(r.json.id)).json.name, c.name);
    },
    kept: async (c) => {
      const r = await srv.api('GET', `/api/v1/grids?parent_id=${c.home}&q=${encodeURIComponent(c.name)}`, { token: admin });
      assert.equal(r.json.total, 0);
    },
  },
  {
    name: 'patch', write: true, ok: 200,
    run: (c) => c.api('PATCH', `/api/v1/grids/${c.target.id}`, { body: { name: c.name } }),
    done: async (c) => {
      const now = (await adminGet(c.target.id)).json;
      assert.equal(now.name, c.name);
      assert.equal(now.version, c.target.version + 1);
    },
  },
  {
    name: 'delete', write: true, ok: 204,
    run: (c) => c.api('DELETE', `/api/v1/grids/${c.target.id}`),
    done: async (c) => { assert.equal((await adminGet(c.target.id)).status, 404); },
  },
  {
    name: 'move', write: true, ok: 200,
    run: (c) => c.api('POST', `/api/v1/grids/${c.target.id}/move`, { body: { parent_id: SIBLING_GRID } }),
    done: async (c) => {
      assert.equal((await adminGet(c.target.id)).json.path, `${paths[SIBLING_GRID]}${c.target.id}/`);
    },
  },
  {
    // An in-scope node moved under the case's grid (outside: a foreign parent).
    name: 'move under', write: true, ok: 200, notFoundField: 'parent_id',
    run: (c) => c.api('POST', `/api/v1/grids/${c.own.id}/move`, { body: { parent_id: c.inside ? SIBLING_GRID : c.home } }),
    done: async (c) => {
      assert.equal((await adminGet(c.own.id)).json.path, `${paths[SIBLING_GRID]}${c.own.id}/`);
    },
  },
  {
    name: 'leaders', write: true, ok: 200,
    run: (c) => c.api('PUT', `/api/v1/grids/${c.target.id}/leaders`, { body: { leaders: [{ user_id: 4, duty: '楼栋长' }] } }),
    done: async (c) => {
      assert.deepEqual((await adminGet(c.target.id)).json.leaders.map((l) => [l.user_id, l.duty]), [[4, '楼栋长']]);
    },
  },
];

// Unchanged: the target and the in-scope node are as they were, nothing new under home.
async function assertKept(c, op) {
  for (const node of [c.target, c.own]) {
    const now = await adminGet(node.id);
    assert.equal(now.status, 200, `${node.id} must still exist`);
    assert.equal(now.json.version, node.version);
    assert.equal(now.json.name, node.name);
    assert.equal(now.json.path, node.path);
    assert.deepEqual(now.json.leaders, []);
  }
  if (op.kept) await op.kept(c);
}

for (const role of ROLES) {
  const places = role.scope === DEMO.county ? ['inside'] : ['inside', 'outside'];
  for (const place of places) {
    for (const op of OPS) {
      const inside = place === 'inside';
      const expected = !(op.write ? role.write : role.read) ? 403 : inside ? op.ok : 404;
      test(`${role.user} ${op.name} ${place} its scope → ${expected}`, async () => {
        const home = inside ? DEMO.grid : outsideGrid[role.scope];
        const token = tokens[role.user];
        const c = {
          home, inside, name: `改名-${++serial}`,
          target: await building(home),
          own: await building(DEMO.grid),
          api: (m, p, o = {}) => srv.api(m, p, { ...o, token }),
        };
        const r = await op.run(c);
        if (expected === op.ok) {
          assert.equal(r.status, expected, r.text);
          await op.done(c, r);
          return;
        }
        if (expected === 403) expectError(r, 403, 'forbidden', null);
        else expectError(r, 404, 'not_found', op.notFoundField || null);
        if (op.write) await assertKept(c, op);
      });
    }
  }
}

test('without a token every grid endpoint answers 401', async () => {
  const calls = [
    ['GET', '/api/v1/grids'], ['GET', '/api/v1/grids/4'], ['GET', '/api/v1/grids/4/children'],
    ['POST', '/api/v1/grids', { parent_id: 4, kind: 'building', name: '无令牌' }],
    ['PATCH', '/api/v1/grids/5', { name: '无令牌' }], ['DELETE', '/api/v1/grids/5'],
    ['POST', '/api/v1/grids/5/move', { parent_id: SIBLING_GRID }], ['PUT', '/api/v1/grids/5/leaders', { leaders: [] }],
  ];
  for (const [m, p, body] of calls) expectError(await srv.api(m, p, { body }), 401, 'unauthorized', undefined, `${m} ${p}`);
  const five = await adminGet(5);
  assert.equal(five.json.name, '1号楼');
  assert.equal(five.json.version, 1);
});

// Every list item lies in the caller's subtree; paging through gives exactly `total`.
for (const role of ROLES.filter((x) => x.read)) {
  test(`${role.user} lists only nodes inside its scope`, async () => {
    const token = tokens[role.user];
    const scopePath = paths[role.scope];
    const seen = new Set();
    let cursor = null;
    let total;
    let pages = 0;
    do {
      const r = await srv.api('GET', `/api/v1/grids?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { token });
      assert.equal(r.status, 200, r.text);
      total = r.json.total;
      for (const it of r.json.items) {
        assert.ok(it.path.startsWith(scopePath), `${role.user} sees ${it.path}`);
        assert.ok(!seen.has(it.id), `item ${it.id} listed twice`);
        seen.add(it.id);
      }
      cursor = r.json.next_cursor;
      pages++;
    } while (cursor && role.scope !== DEMO.county && pages < 20);
    if (role.scope !== DEMO.county) assert.equal(seen.size, total);
    assert.ok(seen.has(role.scope), 'the scope node itself is listed');
    // Searching for a place outside the scope finds nothing.
    const q = await srv.api('GET', `/api/v1/grids?q=${encodeURIComponent(places.otherStreetName)}`, { token });
    assert.equal(q.status, 200);
    assert.equal(q.json.total, role.scope === DEMO.county ? 1 : 0);
    assert.equal(q.json.items.length, q.json.total);
    // Filters cannot reach outside either.
    const byParent = await srv.api('GET', '/api/v1/grids?parent_id=1', { token });
    assert.equal(byParent.status, 200);
    for (const it of byParent.json.items) assert.ok(it.path.startsWith(scopePath), it.path);
  });
}

test('grid= names the subtree to list; outside the scope it is 404 and the county root 404 for a community', async () => {
  const token = tokens.community;
  const r = await srv.api('GET', `/api/v1/grids?grid=${DEMO.grid}&limit=1000`, { token });
  assert.equal(r.status, 200);
  assert.ok(r.json.items.every((it) => it.path.startsWith(paths[DEMO.grid])));
  assert.ok(r.json.items.some((it) => it.id === DEMO.building));
  for (const g of [DEMO.county, DEMO.street, places.nearCommunity, outsideGrid[DEMO.community], 999999]) {
    expectError(await srv.api('GET', `/api/v1/grids?grid=${g}`, { token }), 404, 'not_found', 'grid', `grid=${g}`);
  }
});

test('a user cannot delete or move its own scope node', async () => {
  const token = tokens.community;
  expectError(await srv.api('DELETE', `/api/v1/grids/${DEMO.community}`, { token }), 403, 'forbidden');
  expectError(await srv.api('POST', `/api/v1/grids/${DEMO.community}/move`, { token, body: { parent_id: SIBLING_GRID } }),
    403, 'forbidden');
  const self = await adminGet(DEMO.community);
  assert.equal(self.json.path, '/1/2/3/');
  assert.equal(self.json.version, 1);
});

test('leaders can only be people inside the caller\'s scope', async () => {
  // The admin (user 1, scope: the whole county) is outside the community's scope.
  const target = await building(DEMO.grid);
  const r = await srv.api('PUT', `/api/v1/grids/${target.id}/leaders`, {
    token: tokens.community, body: { leaders: [{ user_id: 1, duty: '楼栋长' }] },
  });
  expectError(r, 422, 'validation_failed', 'leaders[0]');
  assert.deepEqual((await adminGet(target.id)).json.leaders, []);
});
