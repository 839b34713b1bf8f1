/* Who a scan names: a registry person, or a mobile number of someone the
 * registry does not know yet (a phone-only subject, trace_subjects), whose
 * phone is kept encrypted and blind-indexed like the registry's. */
#include "tracing/tracing_int.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/crypt.h"
#include "core/lib/ident.h"
#include "core/resource/resource.h"

#include <stdio.h>
#include <string.h>

/* ---- subjects ---- */

int cases_subject_parse(wg_req *r, struct cases_subject *in)
{
	json_t *person = json_object_get(r->body, "person_id"), *phone = json_object_get(r->body, "phone");
	struct ident_phone ph;
	memset(in, 0, sizeof *in);
	if (person && phone)
		return req_fail(r, WG_ERR_VALIDATION, "phone", "人员编号(person_id)和手机号(phone)只能提供一个",
				"give either person_id or phone, not both");
	if (!person && !phone)
		return req_fail(r, WG_ERR_REQUIRED, "person_id", "请提供人员编号(person_id)或手机号(phone)",
				"person_id or phone is required");
	if (phone) {
		enum ident_status st = json_is_string(phone)
			? ident_mobile_check(json_string_value(phone), json_string_length(phone), &ph) : IDENT_MOBILE_INVALID;
		if (st != IDENT_OK)
			return req_failf(r, WG_ERR_VALIDATION, "phone", "手机号(phone):%s", "phone: %s",
					 ident_status_zh(st), ident_status_en(st));
		snprintf(in->phone, sizeof in->phone, "%s", ph.number);
		return 0;
	}
	if (!json_is_integer(person) || json_integer_value(person) < 1 || json_integer_value(person) >= CASES_SUBJECT_FIRST_ID)
		return req_fail(r, WG_ERR_VALIDATION, "person_id", "人员编号(person_id)应为正整数", "person_id must be a positive integer");
	in->person_id = json_integer_value(person);
	return 0;
}

/* The person exists and lies in the caller's scope: otherwise one answer
 * for both, so that ids outside the scope cannot be probed. */
static int person_visible(wg_req *r, const struct cases_subject *in)
{
	wg_stmt *s;
	int64_t id = in->person_id;
	wg_param p[] = { WG_PINT(id) };
	bool visible = in->found && scope_contains(r->user->scope_path, in->path);
	if (!in->path_read) {
		int rc = store_query(r->db, "SELECT node_path FROM registry_people WHERE id = ?", p, 1, &s);
		if (rc)
			return req_fail(r, rc, NULL, NULL, NULL);
		rc = stmt_next(s);
		visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 0));
		stmt_done(s);
		if (rc < 0)
			return req_fail(r, -rc, NULL, NULL, NULL);
	}
	return visible ? 0 : req_failf(r, WG_ERR_NOT_FOUND, "person_id", "人员 %lld 不存在或不在您的管辖范围内",
					 "person %lld does not exist or is outside your scope", (long long)id, (long long)id);
}

/* The registry person with this phone when exactly one has it (a number a
 * family shares names nobody in particular): *id 0 otherwise. */
static int person_by_phone(wg_req *r, const char *bidx, int64_t *id)
{
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(bidx) };
	int rc = store_query(r->db, "SELECT id FROM registry_people WHERE phone_bidx = ? ORDER BY id LIMIT 2", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	int64_t found[2] = { 0, 0 };
	size_t n = 0;
	while (n < 2 && (rc = stmt_next(s)) == 1)
		found[n++] = stmt_int(s, 0);
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	*id = n == 1 ? found[0] : 0;
	return 0;
}

/* The subject of a phone, created on first sight (looked up first: a
 * number seen again writes nothing). Two requests creating the same one at
 * once meet at the unique blind index: one inserts, both read it. */
static int subject_of_phone(wg_req *r, const char *phone, const char *bidx, int64_t *id)
{
	wg_param q[] = { WG_PTEXT(bidx) };
	*id = 0;
	int rc = store_int(r->db, "SELECT COALESCE(MAX(id), 0) FROM trace_subjects WHERE phone_bidx = ?", q, 1, id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (*id)
		goto check;
	wg_buf enc = WG_BUF_INIT(2048);
	rc = crypt_encrypt(&r->app->keys, "phone", phone, strlen(phone), &enc);
	if (!rc) {
		wg_param p[] = { WG_PTEXTN(enc.data, enc.len), WG_PTEXT(bidx), WG_PINT(r->now) };
		rc = store_run(r->db, "INSERT INTO trace_subjects (phone_enc, phone_bidx, created_at) VALUES (?, ?, ?)"
			       " ON CONFLICT (phone_bidx) DO NOTHING", p, 3);
	}
	wg_buf_release(&enc);
	if (!rc)
		rc = store_int(r->db, "SELECT id FROM trace_subjects WHERE phone_bidx = ?", q, 1, id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
check:
	/* The engine's ids are 32 bits and UINT32_MAX marks an empty slot. */
	if (*id < CASES_SUBJECT_FIRST_ID || *id >= (int64_t)UINT32_MAX)
		return req_fail(r, WG_ERR_INTERNAL, "phone", "手机号登记对象编号已用尽", "no subject ids are left for phone numbers");
	return 0;
}

int cases_subject_resolve(wg_req *r, const struct cases_subject *in, uint32_t *trace_id, bool *is_subject)
{
	char bidx[WG_BLIND_HEX];
	int64_t id = in->person_id;
	*is_subject = false;
	if (!in->phone[0]) {
		if (person_visible(r, in))
			return r->fail.code;
		*trace_id = (uint32_t)id;
		return 0;
	}
	crypt_blind_index(&r->app->keys, "phone", in->phone, strlen(in->phone), bidx);
	if (person_by_phone(r, bidx, &id))
		return r->fail.code;
	if (!id) {
		if (subject_of_phone(r, in->phone, bidx, &id))
			return r->fail.code;
		*is_subject = true;
	}
	*trace_id = (uint32_t)id;
	return 0;
}

/* How phones are shown, as for persons: masked unless ?reveal=1 was allowed. */
static const struct wg_field phone_field = {
	"phone", FT_TEXT, FF_SECRET, 0, 40, NULL, "手机号", NULL, NULL, ident_mask_phone,
};

json_t *cases_phone_json(wg_req *r, const char *enc)
{
	return *enc ? resource_secret_json(r, &phone_field, enc, strlen(enc)) : json_null();
}
