/* The tracing module's share of `wangge demo`: venues with their scan codes
 * (in the demo community, and a market and a pharmacy in every town), two
 * weeks of scans by the people who live near them, and one case of the demo
 * grid traced and applied, as the command center would do it, so that the
 * community's contact list and the not-located queue show something true.
 * Then a checkpoint (检查站) in every town, with its own two weeks of scans
 * round the clock, made last and from a random stream of their own: the
 * other venues, their scans and the case are those the demo made before
 * there were checkpoints. Deterministic for a seed. */
#include "tracing/tracing_int.h"
#include "core/app/app.h"
#include "core/auth/auth.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/lib/timefmt.h"

#include <stdio.h>
#include <string.h>

#define DEMO_SCAN_DAYS 14

struct venue_plan {
	const char *name, *kind;
	int open_hour, hours;      /* when people come */
	unsigned per_100;          /* visits a day per 100 neighbours */
	bool today;                /* the two weeks end today (up to now), not yesterday */
};

static const struct venue_plan community_venues[] = {
	{ "超市", "market", 8, 12, 18, false }, { "农贸市场", "market", 6, 5, 14, false }, { "大药房", "pharmacy", 8, 12, 5, false },
	{ "小吃店", "restaurant", 11, 9, 8, false }, { "卫生服务站", "hospital", 8, 9, 3, false }, { "公交站", "transit", 6, 14, 10, false },
};
static const struct venue_plan town_venues[] = {
	{ "镇超市", "market", 8, 12, 6, false }, { "镇药店", "pharmacy", 8, 12, 2, false },
};
/* Manned day and night: the town's people pass it now and then, today too
 * (the duty's page counts the last 24 hours). */
static const struct venue_plan town_checkpoint = { "检查站", "checkpoint", 0, 24, 5, true };

struct demo_venue {
	int64_t id;
	const struct venue_plan *plan;
	char path[WG_MAX_GRID_PATH];   /* where its neighbours live (the community or the town) */
};

struct town {
	int64_t grid;
	char grid_path[WG_MAX_GRID_PATH], name[128], path[WG_MAX_GRID_PATH];
};

struct tracing_demo {
	struct wg_demo *d;
	uint64_t rnd;
	struct town *towns;        /* every town: its first community's first grid */
	size_t ntowns;
	struct demo_venue *v;
	size_t nv, cap;
	struct trace_rec *recs;
	size_t nrecs, rcap;
};

static uint64_t next(struct tracing_demo *t)
{
	t->rnd ^= t->rnd << 13;
	t->rnd ^= t->rnd >> 7;
	t->rnd ^= t->rnd << 17;
	return t->rnd;
}

static int add_venue(struct tracing_demo *t, int64_t grid, const char *grid_path, const char *where, const char *near,
		     const struct venue_plan *plan)
{
	static const char alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
	char code[13], name[200];
	for (size_t i = 0; i + 1 < sizeof code; i++)
		code[i] = alphabet[next(t) % (sizeof alphabet - 1)];
	code[sizeof code - 1] = '\0';
	snprintf(name, sizeof name, "%s%s", where, plan->name);
	if (t->nv == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct demo_venue *v = wg_realloc(t->v, cap * sizeof *v);
		if (!v)
			return WG_ERR_NOMEM;
		t->v = v;
		t->cap = cap;
	}
	struct demo_venue *v = &t->v[t->nv];
	wg_param p[] = { WG_PINT(grid), WG_PTEXT(grid_path), WG_PTEXT(name), WG_PTEXT(plan->kind), WG_PTEXT(code),
			 WG_PINT(t->d->now), WG_PINT(t->d->now) };
	int rc = store_insert(t->d->c, "INSERT INTO venues (grid_id, node_path, name, kind, code, created_at, updated_at)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?)", p, 7, &v->id);
	if (rc)
		return rc;
	v->plan = plan;
	snprintf(v->path, sizeof v->path, "%s", near);
	t->nv++;
	return 0;
}

/* Every town of the demo county, with the first grid of its first community. */
static int read_towns(struct tracing_demo *t)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(t->d->scope[2]) };
	t->towns = wg_calloc(128, sizeof *t->towns);
	if (!t->towns)
		return WG_ERR_NOMEM;
	int rc = store_query(t->d->c,
		"SELECT tw.id, tw.name, tw.path, v.id, v.name, v.path, g.id, g.path FROM grid_nodes tw"
		" JOIN grid_nodes v ON v.id = (SELECT MIN(x.id) FROM grid_nodes x WHERE x.parent_id = tw.id)"
		" JOIN grid_nodes g ON g.id = (SELECT MIN(y.id) FROM grid_nodes y WHERE y.parent_id = v.id)"
		" WHERE tw.parent_id = (SELECT parent_id FROM grid_nodes WHERE id = (SELECT parent_id FROM grid_nodes WHERE id = ?))"
		" ORDER BY tw.id", p, 1, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1 && t->ntowns < 128) {
		struct town *tw = &t->towns[t->ntowns++];
		tw->grid = stmt_int(s, 6);
		snprintf(tw->grid_path, sizeof tw->grid_path, "%s", stmt_text(s, 7));
		snprintf(tw->name, sizeof tw->name, "%s", stmt_text(s, 1));
		snprintf(tw->path, sizeof tw->path, "%s", stmt_text(s, 2));
	}
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

/* The demo community's venues on its first grid; a market and a pharmacy on
 * the first grid of every town's first community. */
static int make_venues(struct tracing_demo *t)
{
	wg_stmt *s;
	int rc = read_towns(t);
	if (rc)
		return rc;
	char community[128] = "", community_path[WG_MAX_GRID_PATH] = "", grid_path[WG_MAX_GRID_PATH] = "";
	wg_param q[] = { WG_PINT(t->d->scope[2]), WG_PINT(t->d->scope[3]) };
	rc = store_query(t->d->c, "SELECT c.name, c.path, g.path FROM grid_nodes c, grid_nodes g WHERE c.id = ? AND g.id = ?", q, 2, &s);
	if (!rc && (rc = stmt_next(s)) == 1) {
		snprintf(community, sizeof community, "%s", stmt_text(s, 0));
		snprintf(community_path, sizeof community_path, "%s", stmt_text(s, 1));
		snprintf(grid_path, sizeof grid_path, "%s", stmt_text(s, 2));
	}
	stmt_done(s);
	if (rc < 0)
		return -rc;
	rc = 0;
	/* The community's name without its office's suffix reads as a place: 兴阜居委会 → 兴阜. */
	char short_name[128];
	snprintf(short_name, sizeof short_name, "%s", community);
	char *suffix = strstr(short_name, "居委会");
	if (!suffix)
		suffix = strstr(short_name, "村委会");
	if (suffix)
		*suffix = '\0';
	for (size_t i = 0; !rc && i < WG_COUNT(community_venues); i++)
		rc = add_venue(t, t->d->scope[3], grid_path, short_name, community_path, &community_venues[i]);
	for (size_t k = 0; !rc && k < t->ntowns; k++) {
		const struct town *tw = &t->towns[k];
		for (size_t i = 0; !rc && i < WG_COUNT(town_venues); i++)
			rc = add_venue(t, tw->grid, tw->grid_path, tw->name, tw->path, &town_venues[i]);
	}
	return rc;
}

static int add_scan(struct tracing_demo *t, int64_t person, const struct demo_venue *v, int day)
{
	const struct venue_plan *plan = v->plan;
	int32_t off = wg_time_offset(t->d->now);
	int64_t first = (t->d->now + off) / 86400 - DEMO_SCAN_DAYS + (plan->today ? 1 : 0);
	int64_t midnight = (first + day) * 86400 - off;   /* local midnight */
	int64_t in = midnight + (int64_t)(plan->open_hour + (int)(next(t) % (unsigned)plan->hours)) * 3600 + (int64_t)(next(t) % 60) * 60;
	int64_t out = in + (int64_t)(10 + next(t) % 50) * 60;
	if (out > t->d->now)
		return 0;
	if (t->nrecs == t->rcap) {
		size_t cap = t->rcap ? t->rcap * 2 : 65536;
		struct trace_rec *r = wg_realloc(t->recs, cap * sizeof *r);
		if (!r)
			return WG_ERR_NOMEM;
		t->recs = r;
		t->rcap = cap;
	}
	int rc = trace_rec_make((uint32_t)person, (uint32_t)v->id, in, out, t->d->now, tracing_params()->max_stay_min, &t->recs[t->nrecs]);
	t->nrecs += rc == TRACE_OK;
	return 0;
}

/* Two weeks of scans at the venues from FIRST on: each day, each neighbour
 * with a phone goes to each venue near home with the venue's chance. */
static int plan_scans(struct tracing_demo *t, size_t first)
{
	int rc = 0;
	t->nrecs = 0;
	for (size_t i = first; !rc && i < t->nv; i++) {
		const struct demo_venue *v = &t->v[i];
		char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
		scope_range(v->path, lo, hi, sizeof lo);
		wg_stmt *s;
		wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi) };
		rc = store_query(t->d->c, "SELECT id FROM registry_people WHERE node_path >= ? AND node_path < ? AND phone_enc IS NOT NULL"
				 " ORDER BY id", p, 2, &s);
		while (!rc && (rc = stmt_next(s)) == 1) {
			int64_t person = stmt_int(s, 0);
			rc = 0;
			for (int day = 0; !rc && day < DEMO_SCAN_DAYS; day++)
				if (next(t) % 100 < v->plan->per_100)
					rc = add_scan(t, person, v, day);
		}
		stmt_done(s);
		rc = rc < 0 ? -rc : rc;
	}
	return rc;
}

/* Appends the planned scans to the engine's store; how many were new. */
static int store_scans(struct tracing_demo *t, size_t *added)
{
	struct trace_diag diag = { 0 };
	*added = 0;
	if (!t->nrecs)
		return 0;
	trace_store *store = tracing_store_lock();
	int rc = store ? trace_store_append(store, TRACE_SCAN, t->recs, t->nrecs, t->d->now, added, &diag) : TRACE_ERR_IO;
	tracing_store_unlock();
	if (rc)
		return wg_error("demo scans: %s / 演示扫码记录写入失败:%s", trace_err_en(rc), trace_err_zh(rc)), WG_ERR_IO;
	return 0;
}

static int make_scans(struct tracing_demo *t)
{
	size_t added;
	int rc = plan_scans(t, 0);
	if (rc || !t->nrecs)
		return rc;
	rc = store_scans(t, &added);
	if (!rc)
		printf("demo: %zu venues, %zu scans over %d days / 演示场所和扫码已生成\n", t->nv, added, DEMO_SCAN_DAYS);
	return rc;
}

/* A checkpoint in every town (<镇名>检查站) and its scans, from a random
 * stream of their own, after the case: what the demo made before stays as
 * it was, venue ids and all. */
static int make_checkpoints(struct tracing_demo *t)
{
	size_t first = t->nv, added = 0;
	int rc = 0;
	t->rnd = (t->d->seed * 2654435761u + 97) | 1;
	for (size_t k = 0; !rc && k < t->ntowns; k++) {
		const struct town *tw = &t->towns[k];
		rc = add_venue(t, tw->grid, tw->grid_path, tw->name, tw->path, &town_checkpoint);
	}
	rc = rc ? rc : plan_scans(t, first);
	rc = rc ? rc : store_scans(t, &added);
	if (!rc)
		printf("demo: %zu checkpoints, %zu scans at them / 演示检查站和扫码已生成\n", t->nv - first, added);
	return rc;
}

/* The case's look-back (the v9 preset's two days before onset). */
#define DEMO_CASE_LOOKBACK_MIN (2 * 24 * 60)

/* Of the persons of the demo grid with a phone, the one with the most scans
 * in the look-back before onset, so that the demo's case always has
 * contacts to hand over whatever the hour the demo is made (ties: the
 * smaller id). */
static int busiest_neighbour(struct tracing_demo *t, const char *lo, const char *hi, int64_t onset, int64_t *person,
			     int64_t *grid, char *path, size_t size)
{
	wg_stmt *s;
	size_t best = 0;
	uint32_t from = (uint32_t)(onset / 60 - DEMO_CASE_LOOKBACK_MIN), to = (uint32_t)(onset / 60);
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi) };
	int rc = store_query(t->d->c, "SELECT id, grid_id, node_path FROM registry_people WHERE node_path >= ? AND node_path < ?"
			     " AND phone_enc IS NOT NULL ORDER BY id", p, 2, &s);
	while (!rc && (rc = stmt_next(s)) == 1) {
		uint32_t id = (uint32_t)stmt_int(s, 0);
		size_t n = 0;
		for (size_t i = 0; i < t->nrecs; i++)
			n += t->recs[i].person == id && t->recs[i].t_min >= from && t->recs[i].t_min <= to;
		if (n > best || !*person) {
			best = n > best ? n : best;
			*person = id;
			*grid = stmt_int(s, 1);
			snprintf(path, size, "%s", stmt_text(s, 2));
		}
		rc = 0;
	}
	stmt_done(s);
	return rc < 0 ? -rc : rc;
}

/* One case in the demo grid: a neighbour who went out in the days before
 * falling ill yesterday, traced and applied by the command center's demo
 * account. */
static int make_case(struct tracing_demo *t)
{
	wg_stmt *s;
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2], path[WG_MAX_GRID_PATH] = "";
	int64_t person = 0, grid = 0, case_id = 0, onset = t->d->now - 86400;
	wg_param g[] = { WG_PINT(t->d->scope[3]) };
	int rc = store_query(t->d->c, "SELECT path FROM grid_nodes WHERE id = ?", g, 1, &s);
	if (!rc && (rc = stmt_next(s)) == 1)
		snprintf(path, sizeof path, "%s", stmt_text(s, 0));
	stmt_done(s);
	if (rc < 0)
		return -rc;
	scope_range(path, lo, hi, sizeof lo);
	rc = busiest_neighbour(t, lo, hi, onset, &person, &grid, path, sizeof path);
	if (rc || !person)
		return rc;
	wg_param c[] = { WG_PINT(person), WG_PINT(onset), WG_PINT(grid), WG_PTEXT(path), WG_PINT(t->d->now), WG_PINT(t->d->now) };
	rc = store_insert(t->d->c, "INSERT INTO cases (person_id, onset_at, preset, status, note, grid_id, node_path, created_at, updated_at)"
			  " VALUES (?, ?, 'v9', 'open', '演示病例:昨日核酸阳性', ?, ?, ?, ?)", c, 6, &case_id);
	if (rc)
		return rc;
	/* Traced and applied as the command center does it: the same handlers, as its demo account. */
	wg_req r = { .app = t->d->app, .db = t->d->c, .now = t->d->now, .id = case_id, .address = "cli", .spool_fd = -1 };
	arena_init(&r.arena, 1u << 20);
	rc = auth_principal_load(t->d->c, "command", &r.principal);
	r.user = &r.principal;
	r.body = json_object();
	if (!rc && (case_trace(&r) || (json_decref(r.out), r.out = NULL, case_apply(&r))))
		rc = r.fail.code;
	size_t places = json_array_size(json_object_get(r.out, "communities"));
	if (!rc)
		printf("demo: case %lld traced and handed to %zu %s, %lld not located / 演示病例已流调并下发\n",
		       (long long)case_id, places, places == 1 ? "community" : "communities",
		       (long long)json_integer_value(json_object_get(r.out, "not_located")));
	json_decref(r.out);
	json_decref(r.body);
	arena_release(&r.arena);
	return rc;
}

int tracing_demo(struct wg_demo *d)
{
	struct tracing_demo t = { .d = d, .rnd = d->seed * 40503u + 7 };
	if (d->persons == 0)
		return 0;
	int rc = tracing_start(d->app);
	if (!rc)
		rc = make_venues(&t);
	if (!rc)
		rc = make_scans(&t);
	if (!rc)
		rc = make_case(&t);
	if (!rc)
		rc = make_checkpoints(&t);
	tracing_stop(d->app);
	wg_free(t.towns);
	wg_free(t.v);
	wg_free(t.recs);
	return rc;
}
