/* Counters per grid node and local day, kept in each write's transaction,
 * so that the roll-up of any node for any day reads that node's rows only
 * (one index range: its keys up to the day) instead of grouping the
 * records, checks and alerts of its whole subtree. Every change is added to
 * the record's node and to each of its ancestors.
 *
 * Two kinds of key. A level's value on day D is the sum of its changes up
 * to D; an event's is its change on D (and up to D, for the status counts):
 *
 *   level   active, cat:<category>, mode:<mode>  records in force on D:
 *                                   active_from <= D < the day it ended
 *           checks_due      checks owed on D: checks_per_day for every
 *                           record in force, the day a record is released
 *                           or closed included (its last day's round), the
 *                           day of a transfer the next record's
 *           alerts_open     alerts neither handled nor closed at D's end
 *   event   opened          new chains (not transfers), on the day opened
 *           released, transferred, closed    records leaving, on the day
 *           checks          checks recorded; checks_done: the first
 *                           checks_per_day of a chain's day (so that
 *                           due - done is what is missing); fever, symptom
 *           nat_due         NAT samples the protocol asks for on D, by the
 *                           same ownership as checks_due
 *           nat_done        a chain's first sample on one of those days;
 *                           nat_samples: every sample; nat_positive: results
 *           alerts_raised, alerts_handled, alerts_closed
 *
 * A subtree move leaves the ancestors' counters as they were (the grid has
 * no event for it yet): `wangge control recount` counts again. */
#include "control/control_int.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define KEY_BYTES 24

struct ctl_delta {
	int64_t node, day, n;
	char key[KEY_BYTES];
};

/* The changes of one write, summed by (node, key, day); a small hash finds
 * an entry, since one import or recount adds the same few again and again. */
#define COUNTS_SLOTS (2 * CTL_MAX_DELTAS)   /* a power of two, twice the entries */
struct ctl_counts {
	size_t n;
	bool overflow;
	struct ctl_delta d[CTL_MAX_DELTAS];
	int16_t slot[COUNTS_SLOTS];          /* index into d, -1 when free */
};

struct ctl_counts *ctl_counts_new(void)
{
	struct ctl_counts *c = wg_calloc(1, sizeof(struct ctl_counts));
	if (c)
		memset(c->slot, 0xff, sizeof c->slot);
	return c;
}

void ctl_counts_free(struct ctl_counts *c) { wg_free(c); }
size_t ctl_counts_size(const struct ctl_counts *c) { return c->n; }

static size_t slot_of(int64_t node, const char *key, int64_t day)
{
	uint64_t h = (uint64_t)node * 0x9E3779B97F4A7C15u ^ (uint64_t)day * 0xC2B2AE3D27D4EB4Fu;
	for (const char *k = key; *k; k++)
		h = (h ^ (unsigned char)*k) * 0x100000001B3u;
	return (size_t)(h >> 32) & (COUNTS_SLOTS - 1);
}

static void add(struct ctl_counts *c, int64_t node, const char *key, int64_t day, int64_t n)
{
	size_t i = slot_of(node, key, day);
	for (; c->slot[i] >= 0; i = (i + 1) & (COUNTS_SLOTS - 1)) {
		struct ctl_delta *d = &c->d[c->slot[i]];
		if (d->node == node && d->day == day && strcmp(d->key, key) == 0) {
			d->n += n;
			return;
		}
	}
	if (c->n == CTL_MAX_DELTAS) {
		c->overflow = true;
		return;
	}
	c->slot[i] = (int16_t)c->n;
	struct ctl_delta *d = &c->d[c->n++];
	d->node = node;
	d->day = day;
	d->n = n;
	wg_copy_text(d->key, sizeof d->key, key);
}

void ctl_count(struct ctl_counts *c, const char *path, const char *key, int64_t day, int64_t n)
{
	int64_t ids[WG_MAX_GRID_DEPTH];
	int k = ctl_path_ids(path, ids, WG_MAX_GRID_DEPTH);
	if (!c || n == 0)
		return;
	for (int i = 0; i < k; i++)
		add(c, ids[i], key, day, n);
}

#define UPSERT_ROWS 32

static int upsert(wg_conn *db, const struct ctl_delta *d, size_t n)
{
	char sql[160 + UPSERT_ROWS * 16];
	wg_param p[UPSERT_ROWS * 4];
	size_t len = (size_t)snprintf(sql, sizeof sql, "INSERT INTO control_counts (node_id, key, day, n) VALUES ");
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(sql + len, sizeof sql - len, i ? ", (?, ?, ?, ?)" : "(?, ?, ?, ?)");
		p[i * 4] = WG_PINT(d[i].node);
		p[i * 4 + 1] = WG_PTEXT(d[i].key);
		p[i * 4 + 2] = WG_PINT(d[i].day);
		p[i * 4 + 3] = WG_PINT(d[i].n);
	}
	snprintf(sql + len, sizeof sql - len, " ON CONFLICT (node_id, key, day) DO UPDATE SET n = control_counts.n + excluded.n");
	return store_run(db, sql, p, n * 4);
}

int ctl_counts_flush_conn(wg_conn *db, struct ctl_counts *c)
{
	if (c->overflow)
		return WG_ERR_TOO_LARGE;
	/* Changes that cancel out are not written. */
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->d[i].n != 0)
			c->d[k++] = c->d[i];
	int rc = 0;
	for (size_t i = 0; !rc && i < k; i += UPSERT_ROWS)
		rc = upsert(db, &c->d[i], k - i < UPSERT_ROWS ? k - i : UPSERT_ROWS);
	c->n = 0;
	memset(c->slot, 0xff, sizeof c->slot);
	return rc;
}

int ctl_counts_flush(wg_req *r, struct ctl_counts *c)
{
	int rc = ctl_counts_flush_conn(r->db, c);
	if (rc == WG_ERR_TOO_LARGE)
		return req_fail(r, rc, NULL, "一次修改的统计项过多", "too many counters changed at once");
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

static void count_record(struct ctl_counts *c, const struct ctl_record *rec, int64_t day, int64_t n)
{
	char key[KEY_BYTES];
	ctl_count(c, rec->path, "active", day, n);
	snprintf(key, sizeof key, "cat:%s", ctl_categories[rec->category]);
	ctl_count(c, rec->path, key, day, n);
	snprintf(key, sizeof key, "mode:%s", ctl_modes[rec->mode]);
	ctl_count(c, rec->path, key, day, n);
}

/* The chain's NAT days as local days. */
static int nat_dates(const struct ctl_record *rec, const struct ctl_rules *rules, int64_t *out)
{
	int days[CTL_MAX_CHAIN_NAT];
	const struct ctl_cat_rule *cr = &rules->cat[rec->category];
	int n = cr->present ? ctl_rule_nat_days(cr, days, CTL_MAX_CHAIN_NAT) : 0;
	for (int i = 0; i < n; i++)
		out[i] = rec->start_day + days[i] - 1;
	return n;
}

void ctl_count_open(struct ctl_counts *c, const struct ctl_record *rec, const struct ctl_rules *rules, bool head,
		    int64_t today)
{
	int64_t dates[CTL_MAX_CHAIN_NAT];
	int n = nat_dates(rec, rules, dates);
	count_record(c, rec, rec->active_from, 1);
	ctl_count(c, rec->path, "checks_due", rec->active_from, rules->checks_per_day);
	for (int i = 0; i < n; i++)
		if (dates[i] >= rec->active_from)
			ctl_count(c, rec->path, "nat_due", dates[i], 1);
	if (head)
		ctl_count(c, rec->path, "opened", today, 1);
}

void ctl_count_leave(struct ctl_counts *c, const struct ctl_record *rec, const struct ctl_rules *rules, int status,
		     int64_t day)
{
	int64_t dates[CTL_MAX_CHAIN_NAT];
	int n = nat_dates(rec, rules, dates);
	bool keeps_day = status != ST_TRANSFERRED;   /* the last day's round is the leaving record's own */
	count_record(c, rec, day, -1);
	ctl_count(c, rec->path, "checks_due", keeps_day ? day + 1 : day, -rules->checks_per_day);
	for (int i = 0; i < n; i++)
		if (dates[i] >= rec->active_from && (keeps_day ? dates[i] > day : dates[i] >= day))
			ctl_count(c, rec->path, "nat_due", dates[i], -1);
	ctl_count(c, rec->path, ctl_statuses[status], day, 1);
}

/* ---- the roll-up from the counters ---- */

struct key_map {
	const char *key;
	size_t level;       /* offset of the value up to the day, (size_t)-1 for none */
	size_t on_day;      /* offset of the value on the day, (size_t)-1 for none */
};

#define AT(f) offsetof(struct ctl_rollup, f)
#define NONE ((size_t)-1)
static const struct key_map keys[] = {
	{ "active", AT(active), NONE }, { "checks_due", AT(checks_due), NONE }, { "alerts_open", AT(alerts_open), NONE },
	{ "opened", AT(opened), AT(day_opened) }, { "released", AT(released), AT(day_released) },
	{ "transferred", AT(transferred), AT(day_transferred) }, { "closed", AT(closed), AT(day_closed) },
	{ "checks", NONE, AT(checks) }, { "checks_done", NONE, AT(checks_done) }, { "fever", NONE, AT(fever) },
	{ "symptom", NONE, AT(symptom) }, { "nat_due", NONE, AT(nat_due) }, { "nat_done", NONE, AT(nat_done) },
	{ "nat_samples", NONE, AT(nat_samples) }, { "nat_positive", NONE, AT(nat_positive) },
	{ "alerts_raised", NONE, AT(alerts_raised) }, { "alerts_handled", NONE, AT(alerts_handled) },
	{ "alerts_closed", NONE, AT(alerts_closed) },
};

static void put(struct ctl_rollup *out, const char *key, int64_t upto, int64_t on_day)
{
	int k;
	if (strncmp(key, "cat:", 4) == 0 && (k = ctl_index_of(ctl_categories, key + 4)) >= 0) {
		out->cat[k] = upto;
		return;
	}
	if (strncmp(key, "mode:", 5) == 0 && (k = ctl_index_of(ctl_modes, key + 5)) >= 0) {
		out->mode[k] = upto;
		return;
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].key, key) == 0) {
			if (keys[i].level != NONE)
				*(int64_t *)((char *)out + keys[i].level) = upto;
			if (keys[i].on_day != NONE)
				*(int64_t *)((char *)out + keys[i].on_day) = on_day;
		}
}

int ctl_rollup_counters_read(wg_conn *db, int64_t node_id, int64_t day, struct ctl_rollup *out)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(day), WG_PINT(node_id), WG_PINT(day) };
	memset(out, 0, sizeof *out);
	int rc = store_query(db, "SELECT key, SUM(n), SUM(CASE WHEN day = ? THEN n ELSE 0 END) FROM control_counts"
			     " WHERE node_id = ? AND day <= ? GROUP BY key", p, 3, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1)
		put(out, stmt_text(s, 0), stmt_int(s, 1), stmt_int(s, 2));
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

/* The last answers, kept: a roll-up is asked for the same few nodes again
 * and again (every dashboard of a county), and between two commits it
 * cannot change. Each is tagged with the store's read version as it was
 * before the read (store_read_version: on SQLite the WAL index's header,
 * which every commit of any process rewrites) and served while the version
 * is that one: a commit anywhere, by this server or a command, makes every
 * answer stale at once. Where the store cannot tell (PostgreSQL, whose
 * counters have no notification; a transaction that has written) nothing
 * is kept or served. One slot per (node, day) hash; a collision replaces. */
#define KEPT_SLOTS 1024u   /* a power of two */
static struct kept_rollup { uint64_t version; int64_t node, day; struct ctl_rollup x; } kept[KEPT_SLOTS];
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static struct kept_rollup *kept_slot(int64_t node, int64_t day)
{
	uint64_t h = (uint64_t)node * 0x9E3779B97F4A7C15u ^ (uint64_t)day * 0xC2B2AE3D27D4EB4Fu;
	return &kept[(h >> 40) & (KEPT_SLOTS - 1)];
}

int ctl_rollup_counters(wg_conn *db, int64_t node_id, int64_t day, struct ctl_rollup *out)
{
	uint64_t version = store_read_version(db);
	struct kept_rollup *k = kept_slot(node_id, day);
	if (version) {
		pthread_mutex_lock(&kept_lock);
		bool hit = k->version == version && k->node == node_id && k->day == day;
		if (hit)
			*out = k->x;
		pthread_mutex_unlock(&kept_lock);
		if (hit)
			return 0;
	}
	int rc = ctl_rollup_counters_read(db, node_id, day, out);
	if (!rc && version) {
		pthread_mutex_lock(&kept_lock);
		*k = (struct kept_rollup){ .version = version, .node = node_id, .day = day, .x = *out };
		pthread_mutex_unlock(&kept_lock);
	}
	return rc;
}

/* ---- counting again from the records ---- */

static int64_t day_col(wg_stmt *s, int col)
{
	int64_t d = -1;
	if (!stmt_is_null(s, col))
		ctl_day_parse(stmt_text(s, col), stmt_len(s, col), &d);
	return d;
}

/* A recount sums many rows before writing: one record adds at most a few dozen entries. */
static int flush_when_full(wg_conn *db, struct ctl_counts *c)
{
	return c->n > CTL_MAX_DELTAS - 128 ? ctl_counts_flush_conn(db, c) : 0;
}

static int recount_records(wg_req *r, struct ctl_counts *c, int64_t *records)
{
	wg_stmt *s;
	int64_t last = 0;
	for (;;) {
		struct ctl_record recs[64];
		int64_t created[64];
		bool head[64];
		int n = 0;
		wg_param p[] = { WG_PINT(last) };
		int rc = store_query(r->db, "SELECT id, node_path, category, mode, status, start_date, active_from, ended_on,"
				     " preset_version_id, previous_id, created_at FROM controls WHERE id > ? ORDER BY id LIMIT 64", p, 1, &s);
		if (rc)
			return rc;
		while ((rc = stmt_next(s)) == 1) {
			struct ctl_record *x = &recs[n];
			memset(x, 0, sizeof *x);
			x->id = last = stmt_int(s, 0);
			wg_copy_text(x->path, sizeof x->path, stmt_text(s, 1));
			x->category = ctl_index_of(ctl_categories, stmt_text(s, 2));
			x->mode = ctl_index_of(ctl_modes, stmt_text(s, 3));
			x->status = ctl_index_of(ctl_statuses, stmt_text(s, 4));
			x->start_day = day_col(s, 5);
			x->active_from = day_col(s, 6);
			x->ended_day = day_col(s, 7);
			x->preset_version_id = stmt_int(s, 8);
			head[n] = stmt_is_null(s, 9);
			created[n] = stmt_int(s, 10);
			if (x->category >= 0 && x->mode >= 0 && x->status >= 0 && x->start_day >= 0 && x->active_from >= 0)
				n++;
		}
		stmt_done(s);
		if (rc < 0)
			return -rc;
		if (n == 0)
			return 0;
		for (int i = 0; i < n; i++) {
			struct ctl_rules rules;
			if (ctl_preset_rules(r, recs[i].preset_version_id, &rules))
				return r->fail.code;
			ctl_count_open(c, &recs[i], &rules, head[i], ctl_local_day(created[i]));
			if (recs[i].status != ST_ACTIVE && recs[i].ended_day >= 0)
				ctl_count_leave(c, &recs[i], &rules, recs[i].status, recs[i].ended_day);
			if ((rc = flush_when_full(r->db, c)))
				return rc;
			(*records)++;
		}
	}
}

/* Checks chain by chain, in (day, id) order: the first checks_per_day of a
 * chain's day are "done", its first sample on a NAT day too. A chain's
 * records share their preset version, start date and category. */
struct chain { int64_t id, version, start; int category; };

static int recount_chain(wg_req *r, struct ctl_counts *c, const struct chain *ch)
{
	struct ctl_rules rules;
	int days[CTL_MAX_CHAIN_NAT], nd = 0;
	if (ctl_preset_rules(r, ch->version, &rules))
		return r->fail.code;
	if (ch->category >= 0 && rules.cat[ch->category].present)
		nd = ctl_rule_nat_days(&rules.cat[ch->category], days, CTL_MAX_CHAIN_NAT);
	struct { int64_t day, result_at; bool fever, symptom, nat, positive; char path[WG_MAX_GRID_PATH]; } rows[64];
	int64_t after_day = INT64_MIN, after_id = 0, last_day = INT64_MIN, seen = 0, sampled = 0;
	for (;;) {
		wg_stmt *s;
		int n = 0;
		wg_param p[] = { WG_PINT(ch->id), WG_PINT(after_day), WG_PINT(after_day), WG_PINT(after_id) };
		int rc = store_query(r->db,
			"SELECT day, id, node_path, fever, symptoms <> '', nat, nat_result = 'positive', result_at FROM control_checks"
			" WHERE chain_id = ? AND (day > ? OR (day = ? AND id > ?)) ORDER BY day, id LIMIT 64", p, 4, &s);
		if (rc)
			return rc;
		while ((rc = stmt_next(s)) == 1) {
			after_day = rows[n].day = stmt_int(s, 0);
			after_id = stmt_int(s, 1);
			wg_copy_text(rows[n].path, sizeof rows[n].path, stmt_text(s, 2));
			rows[n].fever = stmt_int(s, 3) != 0;
			rows[n].symptom = stmt_int(s, 4) != 0;
			rows[n].nat = stmt_int(s, 5) != 0;
			rows[n].positive = !stmt_is_null(s, 6) && stmt_int(s, 6) != 0;
			rows[n].result_at = stmt_is_null(s, 7) ? -1 : stmt_int(s, 7);
			n++;
		}
		stmt_done(s);
		if (rc < 0)
			return -rc;
		for (int i = 0; i < n; i++) {
			if (rows[i].day != last_day) {
				last_day = rows[i].day;
				seen = sampled = 0;
			}
			ctl_count(c, rows[i].path, "checks", rows[i].day, 1);
			if (++seen <= rules.checks_per_day)
				ctl_count(c, rows[i].path, "checks_done", rows[i].day, 1);
			if (rows[i].fever)
				ctl_count(c, rows[i].path, "fever", rows[i].day, 1);
			if (rows[i].symptom)
				ctl_count(c, rows[i].path, "symptom", rows[i].day, 1);
			if (rows[i].nat) {
				ctl_count(c, rows[i].path, "nat_samples", rows[i].day, 1);
				bool due = false;
				for (int k = 0; k < nd; k++)
					due |= ch->start + days[k] - 1 == rows[i].day;
				if (due && sampled++ == 0)
					ctl_count(c, rows[i].path, "nat_done", rows[i].day, 1);
			}
			if (rows[i].positive && rows[i].result_at >= 0)
				ctl_count(c, rows[i].path, "nat_positive", ctl_local_day(rows[i].result_at), 1);
			if ((rc = flush_when_full(r->db, c)))
				return rc;
		}
		if (n < 64)
			return 0;
	}
}

static int recount_checks(wg_req *r, struct ctl_counts *c)
{
	int64_t last = 0;
	for (;;) {
		struct chain chains[256];
		int n = 0;
		wg_stmt *s;
		wg_param p[] = { WG_PINT(last) };
		int rc = store_query(r->db, "SELECT id, preset_version_id, start_date, category FROM controls"
				     " WHERE id = chain_id AND id > ? ORDER BY id LIMIT 256", p, 1, &s);
		if (rc)
			return rc;
		while ((rc = stmt_next(s)) == 1) {
			chains[n].id = last = stmt_int(s, 0);
			chains[n].version = stmt_int(s, 1);
			chains[n].start = day_col(s, 2);
			chains[n++].category = ctl_index_of(ctl_categories, stmt_text(s, 3));
		}
		stmt_done(s);
		if (rc < 0)
			return -rc;
		if (n == 0)
			return 0;
		for (int i = 0; i < n; i++)
			if ((rc = recount_chain(r, c, &chains[i])))
				return rc;
	}
}

static int recount_alerts(wg_req *r, struct ctl_counts *c)
{
	wg_stmt *s;
	int64_t last = 0;
	for (;;) {
		struct { int64_t id, raised, handled, closed; char path[WG_MAX_GRID_PATH]; } rows[64];
		int n = 0;
		wg_param p[] = { WG_PINT(last) };
		int rc = store_query(r->db, "SELECT id, node_path, raised_at, handled_at, closed_at FROM control_alerts"
				     " WHERE id > ? ORDER BY id LIMIT 64", p, 1, &s);
		if (rc)
			return rc;
		while ((rc = stmt_next(s)) == 1) {
			rows[n].id = last = stmt_int(s, 0);
			wg_copy_text(rows[n].path, sizeof rows[n].path, stmt_text(s, 1));
			rows[n].raised = stmt_int(s, 2);
			rows[n].handled = stmt_is_null(s, 3) ? -1 : stmt_int(s, 3);
			rows[n].closed = stmt_is_null(s, 4) ? -1 : stmt_int(s, 4);
			n++;
		}
		stmt_done(s);
		if (rc < 0)
			return -rc;
		if (n == 0)
			return 0;
		for (int i = 0; i < n; i++) {
			int64_t raised = ctl_local_day(rows[i].raised);
			ctl_count(c, rows[i].path, "alerts_raised", raised, 1);
			ctl_count(c, rows[i].path, "alerts_open", raised, 1);
			int64_t first = rows[i].handled >= 0 ? rows[i].handled : rows[i].closed;
			if (rows[i].closed >= 0 && (first < 0 || rows[i].closed < first))
				first = rows[i].closed;
			if (first >= 0)
				ctl_count(c, rows[i].path, "alerts_open", ctl_local_day(first), -1);
			if (rows[i].handled >= 0)
				ctl_count(c, rows[i].path, "alerts_handled", ctl_local_day(rows[i].handled), 1);
			if (rows[i].closed >= 0)
				ctl_count(c, rows[i].path, "alerts_closed", ctl_local_day(rows[i].closed), 1);
			if ((rc = flush_when_full(r->db, c)))
				return rc;
		}
	}
}

int ctl_recount(wg_conn *db, int64_t *records)
{
	wg_req r = { .db = db };
	struct ctl_counts *c = ctl_counts_new();
	*records = 0;
	int rc = c ? store_run(db, "DELETE FROM control_counts", NULL, 0) : WG_ERR_NOMEM;
	if (!rc)
		rc = recount_records(&r, c, records);
	if (!rc)
		rc = recount_checks(&r, c);
	if (!rc)
		rc = recount_alerts(&r, c);
	if (!rc)
		rc = ctl_counts_flush_conn(db, c);
	ctl_counts_free(c);
	return rc ? rc : r.fail.code;
}
