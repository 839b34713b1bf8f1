// The page a resident opens by scanning the poster at a venue's door
// (/v/<venue code>): no account, no framework, a few kilobytes. It shows the
// venue and records the visit with a phone number remembered on the phone.
const KEY = 'wg.door.phone';
const ZONE = 'Asia/Shanghai';
const code = decodeURIComponent(location.pathname.slice(3).split('/')[0] || '');
const app = document.getElementById('app');
const KINDS = {
  market: '商超', restaurant: '餐馆', pharmacy: '药店', school: '学校', hospital: '医院', transit: '交通场站', office: '机关企业',
  hotel: '宾馆', entertainment: '娱乐场所', religious: '宗教场所', checkpoint: '卡口', other: '其他',
};

const style = document.createElement('style');
style.textContent = `
.d{max-width:28rem;margin:0 auto;padding:1.25rem 1rem 2rem;font-size:17px;line-height:1.5}
.d h1{font-size:1.6rem;margin:.2rem 0 .1rem}.d .k{color:#4b5563;margin:0 0 1.2rem}
.d label{display:block;font-weight:600;margin-bottom:.35rem}.d small{font-weight:400;color:#4b5563}
.d input{box-sizing:border-box;width:100%;font-size:1.35rem;padding:.7rem .8rem;border:2px solid #6b7280;border-radius:8px;letter-spacing:.06em}
.d input:focus{outline:3px solid #1d4ed8;outline-offset:1px;border-color:#1d4ed8}
.d button{width:100%;margin-top:1rem;font-size:1.25rem;padding:.9rem;border:0;border-radius:8px;background:#b91c1c;color:#fff;font-weight:700}
.d button:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}.d button[disabled]{background:#6b7280}
.d .e{color:#b91c1c;margin:.4rem 0 0}.d .e [lang=en]{font-size:.9em}.d .ok{background:#ecfdf3;border:2px solid #15803d;border-radius:10px;padding:1rem;text-align:center}
.d .ok b{display:block;font-size:1.5rem;color:#166534}.d .top{color:#b91c1c;font-weight:700;letter-spacing:.2em}`;
document.head.appendChild(style);

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

// The visit's time as the server wrote it (t_in_at, in the zone it is set
// to); Beijing time from the seconds if that is missing.
function clock(at, sec) {
  const m = /^\d{4}-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(at || '');
  if (m) return `${m[1]}/${m[2]} ${m[3]}:${m[4]}`;
  return new Intl.DateTimeFormat('zh-CN', { timeZone: ZONE, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .format(new Date(sec * 1000));
}

// 429: this address (a shop's Wi-Fi, a phone network's gateway) sent too
// many check-ins this minute; the server says when to try again.
const BUSY = ['这个网络一分钟内登记的人太多,请稍等 1 分钟再试。', 'Too many check-ins from this network; please wait a minute and try again.'];

/** Chinese, then English on a line of its own. */
function say(node, [zh, en]) {
  node.replaceChildren(zh, el('br'), el('span', { lang: 'en', text: en }));
  return node;
}
function waitSeconds(ans) {
  const n = Number(ans.retryAfter);
  return Number.isFinite(n) && n > 0 && n <= 3600 ? Math.ceil(n) : 60;
}

/** Keeps btn disabled for n seconds, counting down on it, then restores its label. */
function countDown(btn, n, label) {
  btn.disabled = true;
  const tick = () => {
    if (n <= 0) {
      btn.disabled = false;
      btn.textContent = label;
      return;
    }
    btn.textContent = `请稍候 ${n} 秒 / Wait ${n} s`;
    n -= 1;
    setTimeout(tick, 1000);
  };
  tick();
}

async function call(method, path, body) {
  let p = method === 'GET' && window.__wgPre && window.__wgPre[path];
  if (p) delete window.__wgPre[path];
  let ans = p ? await p.catch(() => null) : null;
  if (!ans) {
    const headers = { accept: 'application/json' };
    if (body) headers['content-type'] = 'application/json';
    if (body) headers['idempotency-key'] = body.key;
    const r = await fetch('/api/v1' + path, {
      method, headers, credentials: 'omit',
      body: body ? JSON.stringify({ venue_code: body.venue_code, phone: body.phone }) : undefined,
    });
    ans = { status: r.status, text: await r.text(), retryAfter: r.headers.get('retry-after') };
  }
  let json = null;
  try { json = JSON.parse(ans.text); } catch { /* not JSON */ }
  return { status: ans.status, json, retryAfter: ans.retryAfter };
}

function errText(json, fallback) {
  const e = json && json.error;
  return e ? `${e.message}${e.message_en ? ' / ' + e.message_en : ''}` : fallback;
}

function render(...kids) {
  app.replaceChildren(el('main', { class: 'd' }, el('div', { class: 'top', text: '场所扫码登记' }), ...kids));
}

async function start() {
  document.title = '扫码登记 · 网格';
  if (!code) { render(el('p', { class: 'e', text: '场所码缺失 / Missing venue code' })); return; }
  let v;
  try { v = await call('GET', `/public/venue?code=${encodeURIComponent(code)}`); } catch { v = null; }
  if (!v || v.status === 429 || v.status >= 500) {
    // Not the code's fault: say why and offer to try again.
    const again = el('button', { type: 'button', text: '重试 / Retry' });
    again.addEventListener('click', () => { render(el('p', { text: '正在加载… / Loading…' })); start(); });
    const why = el('p', { class: 'e', role: 'alert', 'data-test': 'door-error' });
    if (!v) say(why, ['网络不通,请检查网络后重试。', 'Network error; check the connection and retry.']);
    else if (v.status === 429) say(why, BUSY);
    else why.textContent = errText(v.json, `服务器出错(${v.status}),请稍后重试 / server error, retry later`);
    render(el('h1', { text: '暂时无法登记' }), why, again);
    if (v && v.status === 429) countDown(again, waitSeconds(v), '重试 / Retry');
    performance.mark('wg-usable');
    return;
  }
  if (v.status !== 200) {
    render(el('h1', { text: '找不到该场所' }), el('p', { class: 'e', role: 'alert', 'data-test': 'door-error', text: errText(v.json, `场所码 ${code} 无效 / unknown venue code`) }));
    return;
  }
  const venue = v.json;
  document.title = `${venue.name} · 扫码登记`;
  const input = el('input', { id: 'phone', type: 'tel', inputmode: 'numeric', autocomplete: 'tel', maxlength: '20', 'aria-describedby': 'perr' });
  try { input.value = localStorage.getItem(KEY) || ''; } catch { /* private mode */ }
  const err = el('p', { id: 'perr', class: 'e', role: 'alert' });
  const LABEL = '登记进入 / Check in';
  const btn = el('button', { type: 'submit', text: LABEL });
  const form = el('form', { novalidate: '' },
    el('label', { for: 'phone' }, '手机号 ', el('small', { lang: 'en', text: 'Mobile number' })), input, err, btn);
  let key = null;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    const phone = input.value.trim();
    if (!phone) { err.textContent = '请输入手机号 / Enter your mobile number'; input.focus(); return; }
    btn.disabled = true;
    btn.textContent = '正在登记… / Checking in…';
    key = key || (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now());
    let r;
    try { r = await call('POST', '/public/scans', { venue_code: code, phone, key }); } catch { r = null; }
    btn.disabled = false;
    btn.textContent = LABEL;
    if (r && r.status === 201) {
      try { localStorage.setItem(KEY, phone); } catch { /* private mode */ }
      key = null;
      render(head(venue), el('div', { class: 'ok', role: 'status', 'data-test': 'door-ok' },
        el('b', { text: '✓ 已登记' }), el('span', { text: `${r.json.venue || venue.name} · ${clock(r.json.t_in_at, r.json.t_in)}` }),
        el('p', { lang: 'en', text: 'Checked in' })));
      return;
    }
    if (r && r.status === 429) {
      // Not recorded: the same visit is sent again (same key) once the wait is over.
      say(err, BUSY);
      countDown(btn, waitSeconds(r), LABEL);
      return;
    }
    err.textContent = r ? errText(r.json, `登记失败(${r.status}) / failed`) : '网络不通,请重试 / network error, retry';
    if (!r || r.status !== 422) return;
    key = null;
    input.focus();
  });
  render(head(venue), form);
  if (!input.value) input.focus();
  performance.mark('wg-usable');
}

function head(venue) {
  const frag = document.createDocumentFragment();
  frag.append(el('h1', { 'data-test': 'door-venue', text: venue.name }),
    el('p', { class: 'k', text: [KINDS[venue.kind], venue.grid_name].filter(Boolean).join(' · ') }));
  return frag;
}

// Offline use (web/public/sw.js, scope /v/): once the page is usable, so the
// worker's download never slows the first visit; a later visit with a bad
// network still opens the page, which then offers to retry.
start().finally(() => {
  if (import.meta.env.PROD && 'serviceWorker' in navigator && window.isSecureContext) {
    navigator.serviceWorker.register('/sw.js', { scope: '/v/', updateViaCache: 'none' }).catch(() => {});
  }
});
