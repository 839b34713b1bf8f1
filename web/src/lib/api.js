// The one door to the JSON API (/api/v1): JSON in and out, the API's error
// envelope turned into ApiError (status, code, field, Chinese and English
// message), a hook for 401 anywhere, If-Match and Idempotency-Key headers.

export class ApiError extends Error {
  constructor(status, body, text) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || (status === 0 ? 'network' : 'http');
    this.field = e.field || null;
    this.message_en = e.message_en || (text && text.length < 200 ? text : `HTTP ${status}`);
    this.body = body;
  }
}

let unauthorized = null;
/** fn(error) is called when any request but sign-in answers 401. */
export function onUnauthorized(fn) { unauthorized = fn; }

export function query(params) {
  if (!params) return '';
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

// Answers the boot script in index.html fetched ahead (each used once).
function prefetched(path) {
  const pre = typeof window !== 'undefined' && window.__wgPre;
  if (!pre || !pre[path]) return null;
  const p = pre[path];
  delete pre[path];
  return p;
}

/** Forgets answers fetched ahead (they belong to whoever was signed in before). */
export function dropPrefetched() {
  if (typeof window !== 'undefined' && window.__wgPre) window.__wgPre = {};
}

function parse(text) {
  if (!text) return null;
  try { return JSON.parse(text); } catch { return null; }
}

/**
 * api('GET', '/persons', { query: {grid: 4} })
 * options: query, body (JSON), raw + contentType (upload), ifMatch, idempotencyKey, accept422
 */
export async function api(method, path, opts = {}) {
  const url = path + query(opts.query);
  let answer = method === 'GET' && !opts.query ? prefetched(url) : null;
  if (answer) {
    answer = await answer.catch(() => null);
  }
  if (!answer) {
    const headers = { accept: 'application/json' };
    let body;
    if (opts.raw !== undefined) {
      body = opts.raw;
      headers['content-type'] = opts.contentType || 'application/octet-stream';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    if (opts.ifMatch !== undefined && opts.ifMatch !== null) headers['if-match'] = String(opts.ifMatch);
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
    let res;
    try {
      res = await fetch('/api/v1' + url, { method, headers, body, credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError(0, { error: { code: 'network', message: '网络连接失败,请检查网络后重试', message_en: 'network error; check the connection and retry' } });
    }
    answer = { status: res.status, text: res.status === 204 ? '' : await res.text() };
  }
  const json = parse(answer.text);
  if (answer.status === 401 && path !== '/session' && unauthorized) unauthorized(json && json.error);
  if (answer.status >= 200 && answer.status < 300) return json;
  const err = new ApiError(answer.status, json, answer.text);
  throw err;
}

export const get = (path, q) => api('GET', path, { query: q });
export const post = (path, body, opts = {}) => api('POST', path, { ...opts, body });
export const patch = (path, body, opts = {}) => api('PATCH', path, { ...opts, body });
export const del = (path, opts = {}) => api('DELETE', path, opts);

/** A random key for Idempotency-Key (made when the write is made). */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** All pages of a list (limit 1000 each), up to max items. */
export async function getAll(path, q = {}, max = 10000) {
  const items = [];
  let cursor;
  for (;;) {
    const r = await get(path, { ...q, limit: 1000, cursor });
    items.push(...r.items);
    if (r.next_cursor === null || r.next_cursor === undefined || items.length >= max) return items;
    cursor = r.next_cursor;
  }
}
