/* Door sensors and smart doorbells (门磁, 智慧门铃) of households under home
 * isolation. The household is told about the device and consents first
 * (a consent per household); then each device is registered with an HMAC
 * key of its own, shown once and kept only encrypted (column "device_key",
 * re-encrypted with the other secrets when keys rotate). A device posts its
 * events signed with that key; an event is stored once per device and event
 * id, and a door opened while someone of the household is in home isolation
 * raises an alert. Unknown devices, bad signatures, retired devices,
 * reused event ids and events outside the clock window are refused, each
 * with its own answer. */
#include "control/control_int.h"
#include "core/lib/timefmt.h"
#include "control/device_event.h"
#include "core/audit/audit.h"
#include "core/auth/scope.h"
#include "core/lib/crypt.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const device_kinds[] = { "door_sensor", "doorbell", NULL };
static const char *const consent_methods[] = { "qr", "paper", "verbal", "app", NULL };

/* The household's node, from any of its people in the registry, in scope. */
static int household_path(wg_req *r, json_t *v, char *path, size_t size, int64_t *household)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return req_fail(r, v ? WG_ERR_VALIDATION : WG_ERR_REQUIRED, "household_id", "household_id 应为户的编号",
				"household_id must be a household's id");
	*household = json_integer_value(v);
	wg_stmt *s;
	wg_param p[] = { WG_PINT(*household) };
	int rc = store_query(r->db, "SELECT node_path FROM registry_people WHERE household_id = ? ORDER BY id LIMIT 1", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 0));
	if (visible)
		wg_copy_text(path, size, stmt_text(s, 0));
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, "household_id", "户 %lld 不存在、没有登记人员或不在您的管辖范围内",
				 "household %lld does not exist, has nobody registered or is outside your scope", (long long)*household,
				 (long long)*household);
	return 0;
}

static json_t *consent_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)stmt_int(s, 0), "household_id",
			      (json_int_t)stmt_int(s, 1), "node_path", stmt_text(s, 2), "signer", stmt_text(s, 3), "method", stmt_text(s, 4),
			      "note", stmt_is_null(s, 6) ? json_null() : json_string(stmt_text(s, 6)),
			      "user_id", stmt_is_null(s, 7) ? json_null() : json_integer(stmt_int(s, 7)));
	if (o && (json_set_time_or_null(o, "consented_at", stmt_int(s, 5)) ||
		  json_set_time_or_null(o, "withdrawn_at", stmt_is_null(s, 8) ? -1 : stmt_int(s, 8)) ||
		  json_object_set_new(o, "withdrawn_reason", stmt_is_null(s, 9) ? json_null() : json_string(stmt_text(s, 9))) ||
		  json_object_set_new(o, "status", json_string(stmt_is_null(s, 8) ? "active" : "withdrawn")))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#define CONSENT_COLUMNS "id, household_id, node_path, signer, method, consented_at, note, user_id, withdrawn_at, withdrawn_reason"

static int consent_reply(wg_req *r, int status, int64_t id)
{
	wg_stmt *s;
	wg_param b[] = { WG_PINT(id) };
	int rc = store_query(r->db, "SELECT " CONSENT_COLUMNS " FROM control_consents WHERE id = ?", b, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	json_t *out = stmt_next(s) == 1 ? consent_json(r, s, NULL) : NULL;
	stmt_done(s);
	return out ? req_reply(r, status, out) : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

/* The household's consent: its id (0 if none) and whether it was taken back. */
static int consent_of(wg_req *r, int64_t household, int64_t *id, bool *withdrawn)
{
	wg_stmt *s;
	wg_param q[] = { WG_PINT(household) };
	*id = 0;
	*withdrawn = false;
	int rc = store_query(r->db, "SELECT id, withdrawn_at FROM control_consents WHERE household_id = ?", q, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if ((rc = stmt_next(s)) == 1) {
		*id = stmt_int(s, 0);
		*withdrawn = !stmt_is_null(s, 1);
	}
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

/* POST /api/v1/devices/consents {household_id, signer, method, at?, note?} */
int ctl_consent_create(wg_req *r)
{
	static const char *const allowed[] = { "household_id", "signer", "method", "at", "note", NULL };
	char path[WG_MAX_GRID_PATH];
	const char *signer, *method, *note;
	int64_t household, at, id, existing = 0;
	if (req_check_body(r, allowed) || household_path(r, json_object_get(r->body, "household_id"), path, sizeof path, &household) ||
	    ctl_body_text(r, "signer", 50, true, &signer) || ctl_body_text(r, "method", 16, true, &method) ||
	    ctl_body_text(r, "note", CTL_MAX_REASON, false, &note) || ctl_body_time(r, "at", r->now, &at))
		return r->fail.code;
	if (ctl_index_of(consent_methods, method) < 0)
		return req_fail(r, WG_ERR_VALIDATION, "method", "method 应为 qr(扫告知码)、paper(书面)、verbal(口头)或 app",
				"method must be qr, paper, verbal or app");
	if (at > r->now + 300)
		return req_fail(r, WG_ERR_VALIDATION, "at", "时间不能晚于现在", "at cannot be in the future");
	bool withdrawn;
	if (consent_of(r, household, &existing, &withdrawn))
		return r->fail.code;
	if (existing && !withdrawn)
		return req_failf(r, WG_ERR_CONFLICT, "household_id", "户 %lld 已登记知情同意(记录 %lld)",
				 "household %lld has consented already (consent %lld)", (long long)household, (long long)existing,
				 (long long)household, (long long)existing);
	int rc;
	if (existing) {
		/* Consenting again after taking it back: the same record, the audit keeps both. */
		wg_param u[] = { WG_PTEXT(signer), WG_PTEXT(method), WG_PINT(at), note ? WG_PTEXT(note) : WG_PNULL,
				 WG_PINT(r->user->id), WG_PINT(existing) };
		rc = store_run(r->db, "UPDATE control_consents SET signer = ?, method = ?, consented_at = ?, note = ?, user_id = ?,"
				      " withdrawn_at = NULL, withdrawn_reason = NULL WHERE id = ?", u, 6);
		id = existing;
	} else {
		wg_param p[] = { WG_PINT(household), WG_PTEXT(path), WG_PTEXT(signer), WG_PTEXT(method), WG_PINT(at),
				 note ? WG_PTEXT(note) : WG_PNULL, WG_PINT(r->user->id), WG_PINT(r->now) };
		rc = store_insert(r->db, "INSERT INTO control_consents (household_id, node_path, signer, method, consented_at, note, user_id,"
				  " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p, 8, &id);
	}
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "create", "device_consents", id, path, r->body))
		return r->fail.code;
	return consent_reply(r, 201, id);
}

/* POST /api/v1/devices/consents/{id}/withdraw {reason}: the household takes
 * its consent back; every device of the household is retired with it, so
 * their events are refused from now on. */
int ctl_consent_withdraw(wg_req *r)
{
	static const char *const allowed[] = { "reason", NULL };
	const char *reason;
	wg_stmt *s;
	wg_param p[] = { WG_PINT(r->id) };
	if (req_check_body(r, allowed) || ctl_body_text(r, "reason", CTL_MAX_REASON, true, &reason))
		return r->fail.code;
	int rc = store_query(r->db, "SELECT household_id, node_path, withdrawn_at FROM control_consents WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	char path[WG_MAX_GRID_PATH] = "";
	int64_t household = 0;
	bool withdrawn = false;
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 1));
	if (visible) {
		household = stmt_int(s, 0);
		wg_copy_text(path, sizeof path, stmt_text(s, 1));
		withdrawn = !stmt_is_null(s, 2);
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "知情同意 %lld 不存在或不在您的管辖范围内",
				 "consent %lld does not exist or is outside your scope", (long long)r->id, (long long)r->id);
	if (withdrawn)
		return req_failf(r, WG_ERR_CONFLICT, "status", "知情同意 %lld 已撤回", "consent %lld was withdrawn already",
				 (long long)r->id, (long long)r->id);
	wg_param w[] = { WG_PINT(r->now), WG_PTEXT(reason), WG_PINT(r->id) };
	wg_param d[] = { WG_PINT(r->now), WG_PINT(household) };
	rc = store_run(r->db, "UPDATE control_consents SET withdrawn_at = ?, withdrawn_reason = ? WHERE id = ?", w, 3);
	if (!rc)
		rc = store_run(r->db, "UPDATE control_devices SET status = 'retired', updated_at = ?, version = version + 1"
				      " WHERE household_id = ? AND status = 'active'", d, 2);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "withdraw", "device_consents", r->id, path, r->body))
		return r->fail.code;
	return consent_reply(r, 200, r->id);
}

/* GET /api/v1/devices/consents */
int ctl_consent_list(wg_req *r)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	struct wg_pager pg;
	if (req_check_query(r, allowed) || pager_start(r, &pg, 100, false))
		return r->fail.code;
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT " CONSENT_COLUMNS " FROM control_consents WHERE node_path >= ? AND node_path < ? AND id > ?"
			" ORDER BY id LIMIT ?", p, 4, 0, consent_json, NULL) &&
	    !pager_count(r, &pg, "FROM control_consents WHERE node_path >= ? AND node_path < ?", p, 2, 0))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}

#define DEVICE_COLUMNS "id, household_id, node_path, kind, serial, status, last_event_at, created_at, updated_at, version"

static json_t *device_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)stmt_int(s, 0), "household_id",
			      (json_int_t)stmt_int(s, 1), "node_path", stmt_text(s, 2), "kind", stmt_text(s, 3), "serial", stmt_text(s, 4),
			      "status", stmt_text(s, 5), "version", (json_int_t)stmt_int(s, 9));
	if (o && (json_set_time_or_null(o, "last_event_at", stmt_is_null(s, 6) ? -1 : stmt_int(s, 6)) ||
		  json_set_time_or_null(o, "created_at", stmt_int(s, 7)) || json_set_time_or_null(o, "updated_at", stmt_int(s, 8)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int device_load(wg_req *r, int64_t id, json_t **out, char *path, size_t size)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(id) };
	*out = NULL;
	int rc = store_query(r->db, "SELECT " DEVICE_COLUMNS " FROM control_devices WHERE id = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	bool visible = rc == 1 && scope_contains(r->user->scope_path, stmt_text(s, 2));
	if (visible) {
		*out = device_json(r, s, NULL);
		wg_copy_text(path, size, stmt_text(s, 2));
	}
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	if (!visible)
		return req_failf(r, WG_ERR_NOT_FOUND, NULL, "设备 %lld 不存在或不在您的管辖范围内", "device %lld does not exist or is outside your scope",
				 (long long)id, (long long)id);
	return *out ? 0 : req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
}

/* POST /api/v1/devices {household_id, kind, serial}: the answer holds the device's key, once. */
int ctl_device_create(wg_req *r)
{
	static const char *const allowed[] = { "household_id", "kind", "serial", NULL };
	char path[WG_MAX_GRID_PATH], hex[2 * CTL_DEVICE_KEY_BYTES + 1];
	const char *kind, *serial;
	int64_t household, consent = 0, id;
	unsigned char key[CTL_DEVICE_KEY_BYTES];
	json_t *out = NULL;
	if (req_check_body(r, allowed) || household_path(r, json_object_get(r->body, "household_id"), path, sizeof path, &household) ||
	    ctl_body_text(r, "kind", 16, true, &kind) || ctl_body_text(r, "serial", CTL_MAX_SERIAL, true, &serial))
		return r->fail.code;
	if (ctl_index_of(device_kinds, kind) < 0)
		return req_fail(r, WG_ERR_VALIDATION, "kind", "kind 应为 door_sensor(门磁)或 doorbell(智慧门铃)",
				"kind must be door_sensor or doorbell");
	for (const char *c = serial; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("._:-", *c)))
			return req_fail(r, WG_ERR_VALIDATION, "serial", "serial 只能含字母、数字和 ._:-", "serial may hold letters, digits and ._:- only");
	bool withdrawn;
	if (consent_of(r, household, &consent, &withdrawn))
		return r->fail.code;
	if (!consent || withdrawn)
		return req_failf(r, WG_ERR_CONFLICT, "household_id", "户 %lld 尚未登记知情同意或已撤回:请先告知住户并登记同意(POST /api/v1/devices/consents)",
				 "household %lld has not consented or took it back: record its consent first (POST /api/v1/devices/consents)",
				 (long long)household, (long long)household);
	int rc;
	randombytes_buf(key, sizeof key);
	sodium_bin2hex(hex, sizeof hex, key, sizeof key);
	sodium_memzero(key, sizeof key);
	wg_buf enc = WG_BUF_INIT(512);
	rc = crypt_encrypt(&r->app->keys, "device_key", hex, strlen(hex), &enc);
	if (rc) {
		wg_buf_release(&enc);
		sodium_memzero(hex, sizeof hex);
		return req_fail(r, rc, NULL, NULL, NULL);
	}
	wg_param p[] = { WG_PINT(household), WG_PTEXT(path), WG_PTEXT(kind), WG_PTEXT(serial), WG_PTEXTN(enc.data, enc.len),
			 WG_PINT(r->user->id), WG_PINT(r->now), WG_PINT(r->now) };
	rc = store_insert(r->db, conn_dialect(r->db) == WG_POSTGRES
		? "INSERT INTO control_devices (household_id, node_path, kind, serial, device_key_enc, user_id, created_at, updated_at)"
		  " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
		: "INSERT INTO control_devices (household_id, node_path, kind, serial, device_key_enc, user_id, created_at, updated_at)"
		  " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p, 8, &id);
	wg_buf_release(&enc);
	if (rc == WG_ERR_CONFLICT || (rc == WG_ERR_NOT_FOUND && conn_dialect(r->db) == WG_POSTGRES))
		req_failf(r, WG_ERR_CONFLICT, "serial", "序列号“%s”的设备已登记", "a device with serial '%s' is registered already", serial, serial);
	else if (rc)
		req_fail(r, rc, NULL, NULL, NULL);
	else if (!audit_req(r, "create", "control_devices", id, path, r->body) && !device_load(r, id, &out, path, sizeof path)) {
		json_object_set_new(out, "key", json_string(hex));
		json_object_set_new(out, "key_note", json_string("密钥只显示这一次,请写入设备 / the key is shown this once: put it in the device"));
		req_reply(r, 201, out);
	}
	sodium_memzero(hex, sizeof hex);
	return r->fail.code;
}

/* GET /api/v1/devices?household_id= */
int ctl_device_list(wg_req *r)
{
	static const char *const allowed[] = { "household_id", "limit", "cursor", NULL };
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	struct wg_pager pg;
	int64_t household;
	if (req_check_query(r, allowed) || req_query_int(r, "household_id", 0, INT64_MAX, 0, &household) || pager_start(r, &pg, 100, false))
		return r->fail.code;
	scope_range(r->user->scope_path, lo, hi, sizeof lo);
	wg_param p[] = { WG_PTEXT(lo), WG_PTEXT(hi), WG_PINT(household), WG_PINT(household), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT " DEVICE_COLUMNS " FROM control_devices WHERE node_path >= ? AND node_path < ?"
			" AND (? = 0 OR household_id = ?) AND id > ? ORDER BY id LIMIT ?", p, 6, 0, device_json, NULL) &&
	    !pager_count(r, &pg, "FROM control_devices WHERE node_path >= ? AND node_path < ? AND (? = 0 OR household_id = ?)", p, 4, 0))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}

/* POST /api/v1/devices/{id}/retire {note?}: the device's events are refused from now on. */
int ctl_device_retire(wg_req *r)
{
	static const char *const allowed[] = { "note", NULL };
	char path[WG_MAX_GRID_PATH];
	const char *note;
	json_t *d;
	if (req_check_body(r, allowed) || ctl_body_text(r, "note", CTL_MAX_REASON, false, &note) || device_load(r, r->id, &d, path, sizeof path))
		return r->fail.code;
	bool retired = strcmp(json_string_value(json_object_get(d, "status")), "retired") == 0;
	json_decref(d);
	if (retired)
		return req_failf(r, WG_ERR_CONFLICT, "status", "设备 %lld 已停用", "device %lld is retired already", (long long)r->id, (long long)r->id);
	wg_param p[] = { WG_PINT(r->now), WG_PINT(r->id) };
	int rc = store_run(r->db, "UPDATE control_devices SET status = 'retired', updated_at = ?, version = version + 1 WHERE id = ?", p, 2);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	if (audit_req(r, "retire", "control_devices", r->id, path, r->body) || device_load(r, r->id, &d, path, sizeof path))
		return r->fail.code;
	return req_reply(r, 200, d);
}

static json_t *event_json(wg_req *r, wg_stmt *s, void *ctx)
{
	(void)r;
	(void)ctx;
	json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)stmt_int(s, 0), "event_id", stmt_text(s, 1),
			      "type", stmt_text(s, 2), "control_id", stmt_is_null(s, 5) ? json_null() : json_integer(stmt_int(s, 5)),
			      "alert_id", stmt_is_null(s, 6) ? json_null() : json_integer(stmt_int(s, 6)));
	if (o && (json_set_time(o, "at", stmt_int(s, 3)) || json_set_time(o, "received_at", stmt_int(s, 4)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* GET /api/v1/devices/{id}/events: what the device sent, newest first, with
 * the alert an event raised. */
int ctl_device_events(wg_req *r)
{
	static const char *const allowed[] = { "limit", "cursor", NULL };
	char path[WG_MAX_GRID_PATH];
	struct wg_pager pg;
	json_t *d;
	if (req_check_query(r, allowed) || device_load(r, r->id, &d, path, sizeof path))
		return r->fail.code;
	json_decref(d);
	if (pager_start(r, &pg, 50, false))
		return r->fail.code;
	wg_param p[] = { WG_PINT(r->id), WG_PINT(pg.cursor), WG_PINT(pg.cursor), WG_PINT(pg.limit + 1) };
	if (!pager_rows(r, &pg, "SELECT id, event_id, type, at, received_at, control_id, alert_id FROM control_device_events"
			" WHERE device_id = ? AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?", p, 4, 0, event_json, NULL) &&
	    !pager_count(r, &pg, "FROM control_device_events WHERE device_id = ?", p, 1, 0))
		return pager_reply(r, &pg);
	pager_release(&pg);
	return r->fail.code;
}

/* ---- events ---- */

struct device_row { int64_t id, household; char path[WG_MAX_GRID_PATH]; bool retired; unsigned char key[CTL_DEVICE_KEY_BYTES]; };

static int device_by_serial(wg_req *r, const char *serial, struct device_row *d, bool *found)
{
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(serial) };
	*found = false;
	int rc = store_query(r->db, "SELECT id, household_id, node_path, status, device_key_enc FROM control_devices WHERE serial = ?", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	if (rc == 1) {
		wg_buf plain = WG_BUF_INIT(256);
		size_t len = 0;
		d->id = stmt_int(s, 0);
		d->household = stmt_int(s, 1);
		wg_copy_text(d->path, sizeof d->path, stmt_text(s, 2));
		d->retired = strcmp(stmt_text(s, 3), "active") != 0;
		*found = crypt_decrypt(&r->app->keys, "device_key", stmt_text(s, 4), stmt_len(s, 4), &plain) == 0 && plain.data &&
			 sodium_hex2bin(d->key, sizeof d->key, plain.data, plain.len, NULL, &len, NULL) == 0 && len == sizeof d->key;
		if (plain.data)
			sodium_memzero(plain.data, plain.len);
		wg_buf_release(&plain);
	}
	stmt_done(s);
	return rc < 0 ? req_fail(r, -rc, NULL, NULL, NULL) : 0;
}

static int device_audit(wg_req *r, const struct device_row *d, const char *serial, int64_t event)
{
	char id[WG_I64_DIGITS + 1], who[96];
	id[wg_format_i64(id, event)] = '\0';
	snprintf(who, sizeof who, "device:%s", serial);
	struct audit_event ev = { "event", "control_device_events", id, d->path, NULL, NULL };
	int rc = audit_write(r->app, r->db, NULL, who, r->address ? r->address : "", r->now, &ev);
	return rc ? req_fail(r, rc, NULL, NULL, NULL) : 0;
}

/* A door opened while someone of the household is in home isolation: an alert on each such record. */
static int door_alerts(wg_req *r, const struct device_row *d, const struct ctl_device_event *ev, int64_t event, json_t *alerts)
{
	int64_t ids[16];
	int n = 0;
	wg_stmt *s;
	wg_param p[] = { WG_PINT(d->household) };
	int rc = store_query(r->db, "SELECT c.id FROM controls c JOIN registry_people p ON p.id = c.person_id WHERE p.household_id = ?"
			     " AND c.status = 'active' AND c.mode = 'home_isolation' ORDER BY c.id LIMIT 16", p, 1, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	while ((rc = stmt_next(s)) == 1)
		ids[n++] = stmt_int(s, 0);
	stmt_done(s);
	if (rc < 0)
		return req_fail(r, -rc, NULL, NULL, NULL);
	struct ctl_counts *c = n ? ctl_counts_new() : NULL;
	if (n && !c)
		return req_fail(r, WG_ERR_NOMEM, NULL, NULL, NULL);
	for (int i = 0; i < n; i++) {
		struct ctl_record rec;
		char when[WG_TIME_HUMAN], detail[256];
		int64_t alert;
		wg_time_human(ev->at, when);
		snprintf(detail, sizeof detail, "居家隔离期间开门:设备 %s,%s / door opened during home isolation", ev->device, when);
		if (ctl_record_load_any(r, ids[i], &rec) || ctl_alert_raise(r, &rec, "door", detail, 0, event, ev->at, c, &alert))
			break;
		json_array_append_new(alerts, json_integer(alert));
		if (i == 0) {
			wg_param u[] = { WG_PINT(rec.id), WG_PINT(alert), WG_PINT(event) };
			if ((rc = store_run(r->db, "UPDATE control_device_events SET control_id = ?, alert_id = ? WHERE id = ?", u, 3))) {
				req_fail(r, rc, NULL, NULL, NULL);
				break;
			}
		}
	}
	if (c && !r->fail.code)
		ctl_counts_flush(r, c);
	ctl_counts_free(c);
	return r->fail.code;
}

/* POST /api/v1/devices/events (public: the device signs it). */
int ctl_device_event(wg_req *r)
{
	struct ctl_device_event ev;
	struct ctl_event_error e;
	struct device_row d;
	struct ctl_settings st;
	bool found;
	char digest[2 * crypto_generichash_BYTES + 1];
	unsigned char h[crypto_generichash_BYTES];
	if (ctl_device_event_parse(r->raw.data ? r->raw.data : "", r->raw.len, &ev, &e))
		return req_fail(r, e.not_json ? WG_ERR_BAD_JSON : WG_ERR_VALIDATION, e.field[0] ? e.field : NULL, e.zh, e.en);
	if (ctl_settings_get(r, &st) || device_by_serial(r, ev.device, &d, &found))
		return r->fail.code;
	if (!found)
		return req_fail(r, WG_ERR_UNAUTHORIZED, "device", "未登记的设备", "unknown device");
	const char *sig = req_header(r, "X-WG-Signature");
	bool signed_ok = ctl_device_signature_ok(d.key, r->raw.data, r->raw.len, sig);
	sodium_memzero(d.key, sizeof d.key);
	if (!sig)
		return req_fail(r, WG_ERR_UNAUTHORIZED, "X-WG-Signature", "缺少设备签名", "the device's signature is missing");
	if (!signed_ok)
		return req_fail(r, WG_ERR_UNAUTHORIZED, "X-WG-Signature", "设备签名不符:事件被篡改或伪造", "the signature does not match: forged or altered");
	if (d.retired)
		return req_fail(r, WG_ERR_FORBIDDEN, "device", "设备已停用", "the device is retired");
	crypto_generichash(h, sizeof h, (const unsigned char *)r->raw.data, r->raw.len, NULL, 0);
	sodium_bin2hex(digest, sizeof digest, h, sizeof h);
	wg_stmt *s;
	wg_param q[] = { WG_PINT(d.id), WG_PTEXT(ev.event_id) };
	int rc = store_query(r->db, "SELECT id, digest, alert_id FROM control_device_events WHERE device_id = ? AND event_id = ?", q, 2, &s);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	rc = stmt_next(s);
	int64_t seen = rc == 1 ? stmt_int(s, 0) : 0;
	bool same = rc == 1 && strcmp(stmt_text(s, 1), digest) == 0;
	json_t *prior_alert = rc == 1 && !stmt_is_null(s, 2) ? json_pack("[I]", (json_int_t)stmt_int(s, 2)) : json_array();
	stmt_done(s);
	if (rc < 0) {
		json_decref(prior_alert);
		return req_fail(r, -rc, NULL, NULL, NULL);
	}
	if (seen && !same) {
		json_decref(prior_alert);
		return req_failf(r, WG_ERR_CONFLICT, "event_id", "事件编号 %s 已用于另一内容(重放或伪造)",
				 "event id %s was used for other content (replayed or forged)", ev.event_id, ev.event_id);
	}
	if (seen)  /* the device sent it again: stored once, answered the same */
		return req_reply(r, 200, json_pack("{s:I, s:s, s:b, s:o}", "id", (json_int_t)seen, "event_id", ev.event_id,
						   "duplicate", true, "alerts", prior_alert));
	json_decref(prior_alert);
	if (ev.at < r->now - st.clock_skew_seconds || ev.at > r->now + st.clock_skew_seconds)
		return req_failf(r, WG_ERR_CONFLICT, "at", "事件时间与服务器时间相差超过 %lld 秒:旧事件重放或设备时钟错误",
				 "the event's time is more than %lld s from the server's: a replayed event or a wrong device clock",
				 (long long)st.clock_skew_seconds, (long long)st.clock_skew_seconds);
	int64_t id;
	wg_param p[] = { WG_PINT(d.id), WG_PTEXT(ev.event_id), WG_PTEXT(ev.type), WG_PINT(ev.at), WG_PINT(r->now), WG_PTEXT(digest) };
	rc = store_insert(r->db, "INSERT INTO control_device_events (device_id, event_id, type, at, received_at, digest)"
			  " VALUES (?, ?, ?, ?, ?, ?)", p, 6, &id);
	if (rc)
		return req_fail(r, rc, NULL, NULL, NULL);
	json_t *alerts = json_array();
	wg_param u[] = { WG_PINT(ev.at), WG_PINT(r->now), WG_PINT(d.id) };
	if ((strcmp(ev.type, "door_open") == 0 && door_alerts(r, &d, &ev, id, alerts)) ||
	    (rc = store_run(r->db, "UPDATE control_devices SET last_event_at = ?, updated_at = ? WHERE id = ?", u, 3)) ||
	    device_audit(r, &d, ev.device, id)) {
		if (rc && !r->fail.code)
			req_fail(r, rc, NULL, NULL, NULL);
		json_decref(alerts);
		return r->fail.code;
	}
	return req_reply(r, 201, json_pack("{s:I, s:s, s:b, s:o}", "id", (json_int_t)id, "event_id", ev.event_id, "duplicate", false,
					   "alerts", alerts));
}
