/* Sampling at the door of a mass NAT round: a person's code is scanned
 * (WG-PERSON:<id>, the person id, or the ID card's number), the person must
 * live in the round's subtree, and a sample is stored once per person and
 * round (scanning again answers the first sample). Each sample adds itself
 * to its node and the nodes above it in control_nat_nodes in the same
 * transaction (sample_writer.c, many samples to one commit): the count of
 * those not yet sampled is one row for any node, and the list of who they
 * are is read off the registry for one grid. */
#include "control/control_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/crypt.h"
#include "core/lib/err.h"
#include "core/lib/ident.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

#define PERSON_CODE_PREFIX "WG-PERSON:"

static const char *const channels[] = { "normal", "green", "door", NULL };

int ctl_person_code(wg_req *r, const char *code, const char *field, int64_t *person_id, char bidx[WG_BLIND_HEX])
{
	size_t n = strlen(code);
	int64_t id = 0;
	*person_id = 0;
	bidx[0] = '\0';
	if (strncmp(code, PERSON_CODE_PREFIX, strlen(PERSON_CODE_PREFIX)) == 0) {
		code += strlen(PERSON_CODE_PREFIX);
		n -= strlen(PERSON_CODE_PREFIX);
	}
	if (n > 0 && n <= 12 && wg_parse_i64(code, n, &id) && id > 0) {
		*person_id = id;
		return 0;
	}
	char canon[64];
	const char *zh = NULL, *en = NULL;
	if (ident_canon_id(code, n, canon, sizeof canon, &zh, &en))
		return req_failf(r, WG_ERR_VALIDATION, field, "无法识别的码:应为人员码、人员编号或身份证号(%s)",
				 "unreadable code: a person code, a person id or an ID number is expected (%s)",
				 zh ? zh : "格式无效", en ? en : "invalid");
	crypt_blind_index(&r->app->keys, "id_number", canon, strlen(canon), bidx);
	return 0;
}

/* The answer of a sample once the writer committed or refused it. Scanned
 * again: the first sample answers (the writer read it back into the job). */
static int sample_answer(wg_req *r, int rc, void *ctx)
{
	struct ctl_sample_job *job = ctx;
	if (ctl_sample_outcome(r, job, rc))
		return r->fail.code;
	json_t *out = json_pack("{s:I, s:I, s:I, s:o, s:s, s:o, s:o, s:s, s:b}", "id", (json_int_t)job->id, "round_id", (json_int_t)job->round_id,
				"person_id", (json_int_t)job->person_id, "name", ctl_name_json(r, job->name), "node_path", job->path,
				"point_id", job->point_id ? json_integer(job->point_id) : json_null(),
				"tube", job->tube[0] ? json_string(job->tube) : json_null(), "channel", job->channel, "duplicate", job->duplicate);
	if (!out || json_set_time_or_null(out, "sampled_at", job->at)) {
		json_decref(out);
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	}
	return req_reply(r, job->duplicate ? 200 : 201, out);
}

/* POST /api/v1/nat-rounds/{id}/samples {code, point_id?, tube?, channel?, at?}: the request
 * reads its body only; the round, the point and the person are checked by
 * the writer, in the transaction that stores the sample (sample_writer.c),
 * and the request is answered once that transaction commits. */
int ctl_round_sample(wg_req *r)
{
	static const char *const allowed[] = { "code", "point_id", "tube", "channel", "at", NULL };
	const char *code, *tube, *channel;
	int64_t at;
	json_t *pt = json_object_get(r->body, "point_id");
	struct ctl_sample_job *job = arena_alloc(&r->arena, sizeof *job);
	if (!job)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	memset(job, 0, sizeof *job);
	if (req_check_body(r, allowed) || ctl_body_text(r, "code", 64, true, &code) || ctl_body_text(r, "tube", 32, false, &tube) ||
	    ctl_body_text(r, "channel", 16, false, &channel) || ctl_body_time(r, "at", r->now, &at) ||
	    ctl_person_code(r, code, "code", &job->code_person, job->code_bidx))
		return r->fail.code;
	if (channel && ctl_index_of(channels, channel) < 0)
		return req_fail(r, WG_ERR_VALIDATION, "channel", "channel 应为 normal、green(绿色通道)或 door(上门采样)",
				"channel must be normal, green (the green channel) or door (sampled at home)");
	if (pt && (!json_is_integer(pt) || json_integer_value(pt) < 1))
		return req_fail(r, WG_ERR_VALIDATION, "point_id", "point_id 应为采样点编号", "point_id must be a sampling point's id");
	if (at > r->now + 300)
		return req_fail(r, WG_ERR_CONFLICT, "at", "采样时间不能晚于现在", "the sample's time cannot be in the future");
	job->round_id = r->id;
	job->point_id = pt ? json_integer_value(pt) : 0;
	job->at = at;
	job->user_id = r->user->id;
	wg_copy_text(job->scope, sizeof job->scope, r->user->scope_path);
	wg_copy_text(job->tube, sizeof job->tube, tube ? tube : "");
	wg_copy_text(job->channel, sizeof job->channel, channel ? channel : "normal");
	wg_copy_text(job->username, sizeof job->username, r->user->username);
	wg_copy_text(job->address, sizeof job->address, r->address ? r->address : "");
	return ctl_sample_store(r, job, sample_answer);
}

struct node_count { int64_t id, residents, sampled; char name[CTL_MAX_NAME_BYTES], kind[16], path[WG_MAX_GRID_PATH]; };

static json_t *count_json(const struct node_count *c)
{
	return json_pack("{s:I, s:s, s:s, s:I, s:I, s:I}", "node_id", (json_int_t)c->id, "name", c->name, "kind", c->kind,
			 "residents", (json_int_t)c->residents, "sampled", (json_int_t)c->sampled,
			 "not_sampled", (json_int_t)(c->residents > c->sampled ? c->residents - c->sampled : 0));
}

/* The node to read: ?node= (inside the round and visible), else the caller's or the round's. */
static int pick_node(wg_req *r, const struct ctl_round *round, const char *key, char *path, size_t size, int64_t *node)
{
	int64_t asked;
	if (req_query_int(r, key, 1, INT64_MAX, 0, &asked))
		return r->fail.code;
	if (!asked) {
		bool inside = scope_contains(round->path, r->user->scope_path);
		*node = inside ? r->user->scope_node_id : round->node_id;
		wg_copy_text(path, size, inside ? r->user->scope_path : round->path);
		return 0;
	}
	if (resource_node_path(r, asked, key, path, size))
		return r->fail.code;
	if (!scope_contains(round->path, path))
		return req_failf(r, WG_ERR_VALIDATION, key, "节点 %lld 不在本轮检测范围内", "node %lld lies outside the round's subtree",
				 (long long)asked, (long long)asked);
	*node = asked;
	return 0;
}

/* GET /api/v1/nat-rounds/{id}/progress?node=: residents, sampled and not sampled of a node and each child. */
int ctl_round_progress(wg_req *r)
{
	static const char *const allowed[] = { "node", NULL };
	struct ctl_round round;
	struct node_count self = { 0 };
	int64_t node;
	wg_stmt *s;
	if (req_check_query(r, allowed) || ctl_round_load(r, r->id, &round) ||
	    pick_node(r, &round, "node", self.path, sizeof self.path, &node))
		return r->fail.code;
	wg_param p[] = { WG_PINT(r->id), WG_PINT(node) };
	int rc = store_query(r->db, "SELECT g.name, g.kind, COALESCE(n.residents, 0), COALESCE(n.sampled, 0) FROM grid_nodes g"
			     " LEFT JOIN control_nat_nodes n ON n.round_id = ? AND n.node_id = g.id WHERE g.id = ?", p, 2, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if ((rc = stmt_next(s)) == 1) {
		self.id = node;
		wg_copy_text(self.name, sizeof self.name, stmt_text(s, 0));
		wg_copy_text(self.kind, sizeof self.kind, stmt_text(s, 1));
		self.residents = stmt_int(s, 2);
		self.sampled = stmt_int(s, 3);
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	json_t *children = json_array();
	rc = store_query(r->db, "SELECT g.id, g.name, g.kind, COALESCE(n.residents, 0), COALESCE(n.sampled, 0) FROM grid_nodes g"
			 " LEFT JOIN control_nat_nodes n ON n.round_id = ? AND n.node_id = g.id WHERE g.parent_id = ? ORDER BY g.id LIMIT 500",
			 p, 2, &s);
	if (rc) {
		json_decref(children);
		return req_fail(r, rc, NULL, NULL, NULL);
	}
	while ((rc = stmt_next(s)) == 1) {
		struct node_count c = { .id = stmt_int(s, 0), .residents = stmt_int(s, 3), .sampled = stmt_int(s, 4) };
		wg_copy_text(c.name, sizeof c.name, stmt_text(s, 1));
		wg_copy_text(c.kind, sizeof c.kind, stmt_text(s, 2));
		json_array_append_new(children, count_json(&c));
	}
	stmt_done(s);
	if (rc < 0) {
		json_decref(children);
		return req_fail(r, -rc, NULL, NULL, NULL);
	}
	json_t *out = count_json(&self);
	json_object_set_new(out, "round_id", json_integer(r->id));
	json_object_set_new(out, "children", children);
	return req_reply(r, 200, out);
}

static const struct wg_field phone_field = { "phone", FT_TEXT, FF_SECRET, 0, 40, NULL, "联系电话", NULL, NULL, ident_mask_phone };

static json_t *unsampled_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)ctx;
	return json_pack("{s:I, s:o, s:o, s:o, s:s, s:o, s:I, s:s}", "person_id", (json_int_t)stmt_int(s, 0),
			 "name", ctl_name_json(r, stmt_text(s, 1)), "gender", stmt_is_null(s, 2) ? json_null() : json_string(stmt_text(s, 2)),
			 "birth_date", stmt_is_null(s, 3) ? json_null() : json_string(stmt_text(s, 3)), "address", stmt_text(s, 4),
			 "phone", stmt_is_null(s, 5) ? json_null() : resource_secret_json(r, &phone_field, stmt_text(s, 5), stmt_len(s, 5)),
			 "grid_id", (json_int_t)stmt_int(s, 6), "node_path", stmt_text(s, 7));
}

#define UNSAMPLED_WHERE \
	" WHERE p.node_path >= ? AND p.node_path < ? AND (? = 0 OR p.birth_date <= ? OR p.birth_date >= ?)" \
	" AND NOT EXISTS (SELECT 1 FROM control_nat_samples s WHERE s.round_id = ? AND s.person_id = p.id)"

/* GET /api/v1/nat-rounds/{id}/unsampled?grid=&green=0|1&reveal=&limit=&cursor=: who in a node is still not
 * sampled (green=1: the old and the young, for the green channel or a visit at home). */
int ctl_round_unsampled(wg_req *r)
{
	static const char *const allowed[] = { "grid", "green", "reveal", "limit", "cursor", NULL };
	struct ctl_round round;
	struct wg_pager pg = { 0 };
	char path[WG_MAX_GRID_PATH], lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2], old[WG_DATE_TEXT], young[WG_DATE_TEXT];
	int64_t node, green;
	const char *reveal = req_query(r, "reveal");
	if (req_check_query(r, allowed) || req_query_int(r, "green", 0, 1, 0, &green) || ctl_round_load(r, r->id, &round) ||
	    pick_node(r, &round, "grid", path, sizeof path, &node))
		return r->fail.code;
	if (!scope_contains(r->user->scope_path, path))
		return req_fail(r, WG_ERR_NOT_FOUND, "grid", "该节点不在您的管辖范围内", "the node is outside your scope");
	if (reveal && strcmp(reveal, "0") != 0) {
		if (strcmp(reveal, "1") != 0)
			return req_fail(r, WG_ERR_BAD_QUERY, "reveal", "reveal 应为 0 或 1", "reveal must be 0 or 1");
		if (!rbac_allows(r->user->role, &right_PERSON_REVEAL))
			return req_fail(r, WG_ERR_FORBIDDEN, "reveal", "您的角色无权查看完整的电话", "your role may not see full phone numbers");
		r->reveal = true;
	}
	/* Old: 65 and over; young: under 6 (by birth date on the round's first day). */
	int64_t ref = round.from;
	char first[WG_DATE_TEXT];
	ctl_day_text(ref, first);
	uint32_t year = 2000;
	wg_parse_u32(first, 4, &year);
	snprintf(old, sizeof old, "%04u%s", year - 65, first + 4);
	snprintf(young, sizeof young, "%04u%s", year - 6, first + 4);
	scope_range(path, lo, hi, sizeof lo);
	if (pager_start(r, &pg, 100, false))
		return r->fail.code;
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(green), WG_PTEXT(old), WG_PTEXT(young), WG_PINT(r->id),
			 WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT p.id, p.name, p.gender, p.birth_date, p.address, p.phone_enc, p.grid_id, p.node_path"
			" FROM registry_people p" UNSAMPLED_WHERE " AND p.id > ? ORDER BY p.id LIMIT ?", p, 8, 0, unsampled_json, NULL) &&
	    !pager_count(r, &pg, "FROM registry_people p" UNSAMPLED_WHERE, p, 6, 0) &&
	    !audit_read(r, r->reveal ? "reveal" : "read", "nat_unsampled", r->id, path))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}
