/* The audit chain itself: each record keyed to the one before, the head
 * keyed too, appended in the caller's transaction. Everything that writes
 * records goes through here (requests, the queue of reads, checkpoints,
 * archives). */
#include "core/audit/audit.h"
#include "core/audit/audit_int.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define GENESIS_HASH AUDIT_GENESIS_HASH

/* Appends s and a unit separator; false when it does not fit. */
static bool put_field(unsigned char *buf, size_t size, size_t *len, const char *s, size_t n)
{
	if (n >= size - *len)
		return false;
	memcpy(buf + *len, s, n);
	buf[*len + n] = 0x1f;
	*len += n + 1;
	return true;
}

/* Keyed BLAKE2b-256 over the previous hash and the record's fields, each
 * followed by a unit separator. (Several times cheaper than HMAC-SHA256 and
 * as strong as a MAC; it runs for every audited read.) The message is laid
 * out in one buffer and hashed in one call: the per-call overhead of
 * incremental updates was most of the cost for these short fields. */
void audit_row_hash(const unsigned char key[32], const struct audit_row *a, char out[65])
{
	unsigned char msg[2048];
	unsigned char mac[32];
	char num[96];
	size_t len = 0, n = 0;
	n += wg_format_i64(num + n, a->id);
	num[n++] = '|';
	n += wg_format_i64(num + n, a->at);
	num[n++] = '|';
	n += wg_format_i64(num + n, a->user_id);
	if (a->events > 1) {  /* a single event is hashed as before the count existed */
		num[n++] = '|';
		n += wg_format_i64(num + n, a->events);
	}
	const char *text[] = { a->username, a->address, a->action, a->resource, a->record_id, a->node_path, a->change_hash };
	bool fits = put_field(msg, sizeof msg, &len, a->prev_hash, strlen(a->prev_hash)) &&
		    put_field(msg, sizeof msg, &len, num, n);
	for (size_t i = 0; fits && i < sizeof text / sizeof text[0]; i++)
		fits = put_field(msg, sizeof msg, &len, text[i], strlen(text[i]));
	if (fits) {
		crypto_generichash(mac, sizeof mac, msg, len, key, 32);
	} else {
		/* Longer than any record the server writes; hashed piece by piece. */
		crypto_generichash_state st;
		crypto_generichash_init(&st, key, 32, sizeof mac);
		crypto_generichash_update(&st, (const unsigned char *)a->prev_hash, strlen(a->prev_hash));
		crypto_generichash_update(&st, (const unsigned char *)"\x1f", 1);
		crypto_generichash_update(&st, (const unsigned char *)num, n);
		crypto_generichash_update(&st, (const unsigned char *)"\x1f", 1);
		for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
			crypto_generichash_update(&st, (const unsigned char *)text[i], strlen(text[i]));
			crypto_generichash_update(&st, (const unsigned char *)"\x1f", 1);
		}
		crypto_generichash_final(&st, mac, sizeof mac);
	}
	/* The chain is public (it is stored beside the rows): no need for the
	 * constant-time, and slower, sodium_bin2hex. */
	wg_hex(out, mac, sizeof mac);
}

void audit_text_hash(const char *text, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)text, len);
	wg_hex(out, h, sizeof h);
}

int audit_change_hash(json_t *change, char out[65])
{
	out[0] = '\0';
	if (!change)
		return 0;
	char *text = json_dumps(change, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return WG_ERR_NOMEM;
	audit_text_hash(text, strlen(text), out);
	free(text);
	return 0;
}

/* Reads and locks the chain head for the rest of the transaction. */
int audit_head_lock(wg_conn *c, int64_t *last_id, char last_hash[65])
{
	const char *sql = conn_dialect(c) == WG_POSTGRES
		? "SELECT last_id, last_hash FROM audit_head WHERE id = 1 FOR UPDATE"
		: "SELECT last_id, last_hash FROM audit_head WHERE id = 1";
	wg_stmt *s;
	int rc = store_query(c, sql, NULL, 0, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc == 1) {
		*last_id = stmt_int(s, 0);
		snprintf(last_hash, 65, "%s", stmt_text(s, 1));
		rc = 0;
	} else if (rc == 0) {
		*last_id = 0;
		snprintf(last_hash, 65, "%s", GENESIS_HASH);
		stmt_done(s);
		return store_run(c, "INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, '" GENESIS_HASH "')", NULL, 0);
	} else {
		rc = -rc;
	}
	stmt_done(s);
	return rc;
}

#define AUDIT_COLUMNS 13

#define AUDIT_INSERT "INSERT INTO audit (id, at, user_id, username, address, action, resource, record_id," \
		     " node_path, change_hash, prev_hash, hash, events) VALUES "
#define AUDIT_ROW_PARAMS "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/* The statement that inserts AUDIT_ROWS_PER_INSERT rows, built once. */
static char insert_many_sql[sizeof AUDIT_INSERT + AUDIT_ROWS_PER_INSERT * (sizeof AUDIT_ROW_PARAMS + 2)];
static pthread_once_t insert_many_once = PTHREAD_ONCE_INIT;

static void build_insert_many(void)
{
	size_t len = sizeof AUDIT_INSERT - 1;
	memcpy(insert_many_sql, AUDIT_INSERT, len);
	for (size_t i = 0; i < AUDIT_ROWS_PER_INSERT; i++) {
		if (i) {
			memcpy(insert_many_sql + len, ", ", 2);
			len += 2;
		}
		memcpy(insert_many_sql + len, AUDIT_ROW_PARAMS, sizeof AUDIT_ROW_PARAMS - 1);
		len += sizeof AUDIT_ROW_PARAMS - 1;
	}
	insert_many_sql[len] = '\0';
}

/* Chains and inserts n rows (1 or AUDIT_ROWS_PER_INSERT) after prev, which
 * then holds the last row's hash. */
int audit_append_rows(wg_conn *c, const unsigned char key[32], struct audit_row *rows, size_t n, char prev[65])
{
	char hash[AUDIT_ROWS_PER_INSERT + 1][65];
	wg_param p[AUDIT_ROWS_PER_INSERT * AUDIT_COLUMNS];
	size_t np = 0;
	if (n != 1 && n != AUDIT_ROWS_PER_INSERT)
		return WG_ERR_INTERNAL;
	memcpy(hash[0], prev, 65);
	for (size_t i = 0; i < n; i++) {
		struct audit_row *a = &rows[i];
		a->prev_hash = hash[i];
		audit_row_hash(key, a, hash[i + 1]);
		wg_param row[AUDIT_COLUMNS] = {
			WG_PINT(a->id), WG_PINT(a->at), a->user_id ? WG_PINT(a->user_id) : WG_PNULL,
			WG_PTEXT(a->username), WG_PTEXT(a->address), WG_PTEXT(a->action), WG_PTEXT(a->resource),
			WG_PTEXT(a->record_id), WG_PTEXT(a->node_path), WG_PTEXT(a->change_hash), WG_PTEXT(hash[i]),
			WG_PTEXT(hash[i + 1]), WG_PINT(a->events > 1 ? a->events : 1),
		};
		memcpy(p + np, row, sizeof row);
		np += AUDIT_COLUMNS;
	}
	if (n > 1)
		pthread_once(&insert_many_once, build_insert_many);
	int rc = store_run(c, n == 1 ? AUDIT_INSERT AUDIT_ROW_PARAMS : insert_many_sql, p, np);
	if (!rc)
		memcpy(prev, hash[n], 65);
	return rc;
}

void audit_head_mac(const unsigned char key[32], int64_t last_id, const char *last_hash, char out[65])
{
	unsigned char msg[128], mac[32];
	size_t n = 0;
	static const char tag[] = "wangge audit head\x1f";
	memcpy(msg, tag, sizeof tag - 1);
	n = sizeof tag - 1;
	n += wg_format_i64((char *)msg + n, last_id);
	msg[n++] = 0x1f;
	size_t h = strnlen(last_hash, 64);
	memcpy(msg + n, last_hash, h);
	n += h;
	crypto_generichash(mac, sizeof mac, msg, n, key, 32);
	wg_hex(out, mac, sizeof mac);
}

/* The head moves with its MAC: without keys/audit.key it cannot be set back. */
int audit_head_store(struct wg_app *app, wg_conn *c, int64_t last_id, const char *last_hash)
{
	char mac[65];
	audit_head_mac(app->audit_key, last_id, last_hash, mac);
	wg_param p[] = { WG_PINT(last_id), WG_PTEXT(last_hash), WG_PTEXT(mac) };
	return store_run(c, "UPDATE audit_head SET last_id = ?, last_hash = ?, mac = ? WHERE id = 1", p, 3);
}

int audit_head_read(wg_conn *c, struct audit_head *h)
{
	wg_stmt *s;
	*h = (struct audit_head){ .last_id = 0, .last_hash = GENESIS_HASH, .mac = "" };
	int rc = store_query(c, "SELECT last_id, last_hash, mac FROM audit_head WHERE id = 1", NULL, 0, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc == 1) {
		h->last_id = stmt_int(s, 0);
		wg_copy_text(h->last_hash, sizeof h->last_hash, stmt_text(s, 1));
		wg_copy_text(h->mac, sizeof h->mac, stmt_text(s, 2));
	}
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

int audit_append(struct wg_app *app, wg_conn *c, int64_t user_id, const char *username, const char *address,
		 int64_t now, const char *action, const char *resource, const char *record_id, const char *node_path,
		 const char *change_hash)
{
	char prev[65];
	int64_t last_id;
	int rc = audit_head_lock(c, &last_id, prev);
	if (rc)
		return rc;
	struct audit_row a = {
		.id = last_id + 1, .at = now, .user_id = user_id, .username = username ? username : "",
		.address = address ? address : "", .action = action, .resource = resource,
		.record_id = record_id ? record_id : "", .node_path = node_path ? node_path : "",
		.change_hash = change_hash ? change_hash : "",
	};
	rc = audit_append_rows(c, app->audit_key, &a, 1, prev);
	if (rc)
		return rc;
	return audit_head_store(app, c, a.id, prev);
}

int audit_write(struct wg_app *app, wg_conn *c, const struct wg_principal *who, const char *username,
		const char *address, int64_t now, const struct audit_event *ev)
{
	char ch[65], rid[24];
	int rc = 0;
	if (ev->change_hash)
		wg_copy_text(ch, sizeof ch, ev->change_hash);
	else
		rc = audit_change_hash(ev->change, ch);
	if (rc)
		return rc;
	snprintf(rid, sizeof rid, "%s", ev->record_id ? ev->record_id : "");
	return audit_append(app, c, who ? who->id : 0, who ? who->username : (username ? username : ""), address, now,
			    ev->action, ev->resource, rid, ev->node_path, ch);
}

int audit_req(wg_req *r, const char *action, const char *resource, int64_t record_id,
	      const char *node_path, json_t *change)
{
	char rid[24] = "";
	if (record_id)
		snprintf(rid, sizeof rid, "%lld", (long long)record_id);
	struct audit_event ev = { action, resource, rid, node_path, change, NULL };
	int rc = audit_write(r->app, r->db, r->user, NULL, r->address, r->now, &ev);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}
