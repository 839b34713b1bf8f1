// The role guides (docs/guide/*.md) walked as their readers walk them: on a
// fresh server with the demo county of `make run` (its population too), the
// guide's ```sh blocks run in the order they are written, as one bash script,
// so that what one block sets (TOKEN, an id just created) is there for the
// next. Every request must succeed (status below 400), except those the guide
// itself shows as an error, marked with a trailing `# 预期 422` (or
// `# expect 422`): those must answer exactly that status. A guide that says
// something the program does not do fails here, at the line that says it.
//
// What the walker supplies in place of the reader:
// - B: the guides address the server as http://127.0.0.1:8080; that address
//   becomes the test server's.
// - /var/lib/wangge, the data directory of the guides, is the test server's,
//   and so is `--data data` (as in `make run`).
// - `wangge …`: the built program, on that directory, except for
//   `wangge init`, which makes a new one (the test's already exists).
//   `sudo -u USER` is dropped: the walk runs as the tester.
// - The admin's password: the guides write 你的密码 (the one `wangge init`
//   printed); the walk types the test's.
// - The authenticator app: a line whose comment says `123456 换成 App 上…`
//   gets, for 123456, the current code of the last secret the server handed
//   out (computed as the app would, RFC 6238).
// The guides run in a scratch directory: files they write (exports, the CSV
// they import) stay there. New guides and new blocks are walked as they come.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, initData, BIN, ROOT, ADMIN_PASSWORD } = require('./helpers');

const GUIDES = path.join(ROOT, 'docs/guide');
// The population `make run` builds (`wangge demo` without --persons).
const PERSONS = 20000;

// The ```sh blocks of a guide, in order, each with the line it starts on.
function shBlocks(text) {
  const blocks = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```sh') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    assert.ok(end < lines.length, `a \`\`\`sh block that never closes at line ${i + 1}`);
    blocks.push({ line: start + 1, lines: lines.slice(start, end) });
    i = end;
  }
  return blocks;
}

const EXPECT = /#\s*(?:预期|expect)\s+(\d{3})\b/;
const APP_CODE = /#\s*(\d{6})\s*换成\s*App/;

// The script the walk runs: the preamble, then each block's lines, with a
// map from the script's lines back to the guide's.
function script(name, blocks, base, data) {
  const out = [];
  const origin = [];
  const add = (text, from = null) => { out.push(text); origin.push(from); };
  for (const l of PREAMBLE.split('\n')) add(l);
  blocks.forEach((b, n) => {
    add(`# ${name} block ${n + 1}, line ${b.line}`);
    b.lines.forEach((raw, k) => {
      const from = { block: n, line: b.line + k };
      let l = raw.split('http://127.0.0.1:8080').join(base).split('/var/lib/wangge').join(data)
        .split('你的密码').join(ADMIN_PASSWORD);
      const code = l.match(APP_CODE);
      if (code) {
        const at = l.indexOf('#');
        l = l.slice(0, at).split(code[1]).join(`'"$(walk_totp)"'`) + l.slice(at);
      }
      const want = l.match(EXPECT);
      if (want) {
        // The expectation goes before the command's first line (a command
        // continues over lines ending in a backslash).
        let first = out.length;
        while (first > 0 && origin[first - 1] && /\\\s*$/.test(out[first - 1])) first--;
        out.splice(first, 0, `walk_expect ${want[1]}`);
        origin.splice(first, 0, from);
        add(l, from);
        add('walk_expected', from);
      } else {
        add(l, from);
      }
    });
  });
  add('walk_done');
  return { text: out.join('\n') + '\n', origin };
}

// Runs in bash before the guide. Every request goes through `curl` below.
const PREAMBLE = String.raw`set -eEuo pipefail
shopt -s inherit_errexit
trap 'echo "WALK-FAIL-LINE $LINENO" >&2' ERR
walk_expect() { echo "$1" > "$WALK_TMP/.expect"; }
walk_expected() {
  if [ -s "$WALK_TMP/.expect" ]; then
    echo "WALK: the command above made no request, yet the guide expects $(cat "$WALK_TMP/.expect")" >&2; return 1
  fi
}
walk_done() { echo WALK-DONE; }
# The real curl, with the status checked: below 400, or exactly the status
# the guide marked. The answer is passed on unchanged.
curl() {
  local body err code want="" rc=0
  body=$(mktemp "$WALK_TMP/.body.XXXXXX"); err=$(mktemp "$WALK_TMP/.err.XXXXXX")
  if [ -s "$WALK_TMP/.expect" ]; then want=$(cat "$WALK_TMP/.expect"); : > "$WALK_TMP/.expect"; fi
  command curl "$@" -w '%{stderr}\nWALK-STATUS %{http_code}\n' > "$body" 2> "$err" || rc=$?
  code=$(sed -n 's/^WALK-STATUS //p' "$err" | tail -n 1)
  cat "$body"
  # The phone app: it remembers the last secret the server showed.
  sed -n 's/.*"secret":"\([A-Z2-7]*\)".*/\1/p' "$body" | tail -n 1 > "$WALK_TMP/.secret.new"
  if [ -s "$WALK_TMP/.secret.new" ]; then mv "$WALK_TMP/.secret.new" "$WALK_TMP/.secret"; fi
  if [ "$rc" != 0 ] || { [ -n "$want" ] && [ "$code" != "$want" ]; } || { [ -z "$want" ] && [ "\${code:-0}" -ge 400 ]; }; then
    {
      echo "WALK: request failed at script line \${BASH_LINENO[0]}: status \${code:-none} (curl exit $rc)\${want:+, the guide expects $want}"
      printf 'WALK: command: curl'; printf ' %q' "$@"; echo
      echo "WALK: answer: $(head -c 2000 "$body")"
      grep -v '^WALK-STATUS \|^$' "$err" || true
    } >&2
    rm -f "$body" "$err"
    return 1
  fi
  rm -f "$body" "$err"
}
# The program, on the test's data directory.
wangge() {
  local a=() x prev="" cmd="\${1:-}"
  for x in "$@"; do
    if [ "$prev" = --data ] && { [ "$x" = "$WALK_DATA" ] || [ "$x" = data ]; }; then
      if [ "$cmd" = init ]; then x="$WALK_TMP/init-data"; else x="$WALK_DATA"; fi
    fi
    a+=("$x"); prev=$x
  done
  "$WALK_BIN" "\${a[@]}"
}
sudo() {
  while [ $# -gt 0 ]; do
    case $1 in -u|-g) shift 2 ;; -*) shift ;; *) break ;; esac
  done
  "$@"
}
# The current code of the remembered secret (TOTP: 30 s steps, 6 digits, SHA-1).
walk_totp() {
  node -e '
    const c = require("node:crypto");
    const s = process.argv[1].replace(/=+$/, "");
    const bits = [...s].map((ch) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".indexOf(ch).toString(2).padStart(5, "0")).join("");
    const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
    const msg = Buffer.alloc(8); msg.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
    const h = c.createHmac("sha1", key).update(msg).digest();
    const o = h[19] & 15;
    console.log(String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, "0"));
  ' "$(cat "$WALK_TMP/.secret")"
}
`.replaceAll('\\${', '${');

function runScript(text, cwd, env) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', text], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const guides = fs.readdirSync(GUIDES).filter((f) => f.endsWith('.md')).sort();

test('there are guides to walk, each with commands', () => {
  assert.ok(guides.length >= 6, guides.join(' '));
  for (const g of guides) assert.ok(shBlocks(fs.readFileSync(path.join(GUIDES, g), 'utf8')).length > 0, g);
});

for (const name of guides) {
  test(`docs/guide/${name} runs as written`, async () => {
    const text = fs.readFileSync(path.join(GUIDES, name), 'utf8');
    const blocks = shBlocks(text);
    const srv = await startServer({}, initData({}, BIN, PERSONS));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-guide-'));
    try {
      const s = script(name, blocks, srv.base, srv.dir);
      const r = await runScript(s.text, work, { WALK_TMP: work, WALK_DATA: srv.dir, WALK_BIN: BIN });
      // WG_GUIDE_OUT=DIR keeps what the walk printed: the real answers, to
      // copy into a guide's examples.
      if (process.env.WG_GUIDE_OUT) {
        fs.mkdirSync(process.env.WG_GUIDE_OUT, { recursive: true });
        fs.writeFileSync(path.join(process.env.WG_GUIDE_OUT, `${name}.out`), `${r.stdout}\n--- stderr\n${r.stderr}`);
      }
      if (r.code !== 0 || !r.stdout.trimEnd().endsWith('WALK-DONE')) {
        const at = [...r.stderr.matchAll(/WALK-FAIL-LINE (\d+)|request failed at script line (\d+)/g)]
          .map((m) => s.origin[Number(m[1] || m[2]) - 1]).find((o) => o);
        let where = 'somewhere in the walk';
        if (at) {
          const b = blocks[at.block];
          where = `docs/guide/${name}:${at.line}, in the block at line ${b.line}:\n` +
            b.lines.map((l, k) => `${b.line + k === at.line ? '>' : ' '} ${b.line + k}  ${l}`).join('\n');
        }
        assert.fail(`the guide fails at ${where}\n--- stderr\n${r.stderr.slice(-6000)}\n--- stdout (end)\n${r.stdout.slice(-2000)}`);
      }
    } finally {
      await srv.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
}
