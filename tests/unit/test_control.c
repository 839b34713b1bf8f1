/* The control module's pure parts: times and days, preset rules and team
 * shapes, NAT days across phases, node paths, the device event parser and
 * its signature, and the counters of a record's life. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "control/control_int.h"
#include "control/device_event.h"
#include "core/lib/err.h"

#include <sodium.h>
#include "core/lib/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_times(void **state)
{
	(void)state;
	int64_t t, day;
	assert_true(wg_time_zone_set("Asia/Shanghai"));
	assert_true(ctl_time_parse("2022-04-15T08:30:00+08:00", 25, &t));
	assert_int_equal(t, 1649982600);
	assert_true(ctl_time_parse("2022-04-15T00:30:00Z", 20, &t));
	assert_int_equal(t, 1649982600);
	assert_true(ctl_time_parse("2022-04-15 08:30:00.123+0800", 28, &t));
	assert_int_equal(t, 1649982600);
	assert_true(ctl_time_parse("1649982600", 10, &t));
	assert_int_equal(t, 1649982600);
	assert_false(ctl_time_parse("2022-04-15T08:30:00", 19, &t));       /* no offset: ambiguous */
	assert_false(ctl_time_parse("2022-02-30T08:30:00Z", 20, &t));
	assert_false(ctl_time_parse("2022-04-15T24:00:00Z", 20, &t));
	assert_false(ctl_time_parse("2022-04-15T08:30:00+15:00", 25, &t));
	assert_false(ctl_time_parse("2022-04-15T08:30:00+08:00x", 26, &t));
	char text[WG_DATE_TEXT];
	json_t *o = json_object();
	assert_int_equal(json_set_time_or_null(o, "raised_at", 1649982600), 0);
	assert_string_equal(json_string_value(json_object_get(o, "raised_at_text")), "2022-04-15T08:30:00+08:00");
	assert_int_equal(json_set_time_or_null(o, "closed_at", -1), 0);
	assert_true(json_is_null(json_object_get(o, "closed_at_text")));
	json_decref(o);
	/* Local days: 23:59 in Beijing is still the 15th, 00:00 the 16th. */
	assert_true(ctl_time_parse("2022-04-15T23:59:59+08:00", 25, &t));
	day = ctl_local_day(t);
	ctl_day_text(day, text);
	assert_string_equal(text, "2022-04-15");
	assert_int_equal(ctl_local_day(t + 1), day + 1);
	assert_int_equal(ctl_day_start(day + 1), t + 1);
	assert_true(ctl_day_parse("2022-04-15", 10, &t));
	assert_int_equal(t, day);
	/* Another zone moves the day's boundary with it. */
	assert_true(wg_time_zone_set("Etc/GMT+5"));
	assert_int_equal(ctl_local_day(1649982600), day - 1);   /* 19:30 on the 14th there */
	assert_true(wg_time_zone_set("Asia/Shanghai"));
}

static json_t *rules_v9(void)
{
	return json_loads("{\"lookback_days\":2,\"team_shape\":\"five_one\",\"checks_per_day\":2,\"fever_c\":37.3,"
			  "\"symptoms\":[{\"code\":\"dry_cough\",\"zh\":\"干咳\"}],"
			  "\"categories\":{\"close\":{\"phases\":[{\"mode\":\"central\",\"days\":7,\"nat_days\":[1,2,3,5,7]},"
			  "{\"mode\":\"home_monitoring\",\"days\":3,\"nat_days\":[3]}]},"
			  "\"secondary\":{\"phases\":[{\"mode\":\"home_isolation\",\"days\":7,\"nat_days\":[1,4,7]}],\"release_nat_days\":[7]}}}",
			  0, NULL);
}

static void test_rules(void **state)
{
	(void)state;
	struct ctl_rules r;
	struct ctl_why why;
	json_t *j = rules_v9();
	assert_int_equal(ctl_rules_parse(j, &r, &why), 0);
	assert_int_equal(r.fever_tenths, 373);
	assert_true(r.from_exposure);
	const struct ctl_cat_rule *close = &r.cat[CAT_CLOSE];
	assert_true(close->present);
	assert_false(r.cat[CAT_PUSHED].present);
	assert_int_equal(ctl_rule_total_days(close), 10);
	int days[CTL_MAX_CHAIN_NAT];
	int n = ctl_rule_nat_days(close, days, CTL_MAX_CHAIN_NAT);
	int want[] = { 1, 2, 3, 5, 7, 10 };
	assert_int_equal(n, 6);
	assert_memory_equal(days, want, sizeof want);
	assert_int_equal(close->nrelease, 6);
	assert_int_equal(r.cat[CAT_SECONDARY].nrelease, 1);
	assert_int_equal(ctl_rule_mode_on(close, 7), MODE_CENTRAL);
	assert_int_equal(ctl_rule_mode_on(close, 8), MODE_HOME_MONITORING);
	assert_int_equal(ctl_rule_mode_on(close, 40), MODE_HOME_MONITORING);
	assert_non_null(ctl_rules_symptom(&r, "干咳"));
	assert_non_null(ctl_rules_symptom(&r, "dry_cough"));
	assert_null(ctl_rules_symptom(&r, "头晕"));
	/* Refused, naming the member. */
	json_object_set_new(json_object_get(j, "categories"), "nearby", json_object());
	assert_int_equal(ctl_rules_parse(j, &r, &why), WG_ERR_VALIDATION);
	assert_string_equal(why.field, "rules.categories.nearby");
	json_object_del(json_object_get(j, "categories"), "nearby");
	json_t *phase = json_array_get(json_object_get(json_object_get(json_object_get(j, "categories"), "close"), "phases"), 0);
	json_object_set_new(phase, "nat_days", json_pack("[i, i]", 5, 2));
	assert_int_equal(ctl_rules_parse(j, &r, &why), WG_ERR_VALIDATION);
	assert_string_equal(why.field, "rules.categories.close.phases[0].nat_days");
	json_object_set_new(phase, "nat_days", json_pack("[i]", 8));
	assert_int_equal(ctl_rules_parse(j, &r, &why), WG_ERR_VALIDATION);
	json_object_set_new(phase, "nat_days", json_pack("[i]", 1));
	json_object_set_new(j, "fever_c", json_real(36.0));
	assert_int_equal(ctl_rules_parse(j, &r, &why), WG_ERR_VALIDATION);
	assert_string_equal(why.field, "rules.fever_c");
	json_decref(j);

	struct ctl_team_shape shape;
	j = json_loads("{\"members\":[{\"role\":\"grid_worker\",\"zh\":\"网格员\",\"from_duty\":\"网格员\"},{\"role\":\"police\",\"zh\":\"民警\"}]}", 0, NULL);
	assert_int_equal(ctl_team_shape_parse(j, &shape, &why), 0);
	assert_int_equal(shape.n, 2);
	assert_string_equal(shape.m[0].from_duty, "网格员");
	assert_string_equal(shape.m[1].from_duty, "");
	json_array_append_new(json_object_get(j, "members"), json_pack("{s:s, s:s}", "role", "police", "zh", "警"));
	assert_int_equal(ctl_team_shape_parse(j, &shape, &why), WG_ERR_VALIDATION);
	assert_string_equal(why.field, "rules.members[2]");
	json_decref(j);
}

static void test_paths(void **state)
{
	(void)state;
	int64_t ids[WG_MAX_GRID_DEPTH];
	assert_int_equal(ctl_path_ids("/1/2/12605/4/", ids, WG_MAX_GRID_DEPTH), 4);
	assert_int_equal(ids[2], 12605);
	assert_int_equal(ctl_path_ids("", ids, WG_MAX_GRID_DEPTH), 0);
	assert_int_equal(ctl_path_ids("/1/2/3/", ids, 2), 2);
	assert_int_equal(ctl_index_of(ctl_categories, "spatiotemporal"), CAT_SPATIOTEMPORAL);
	assert_int_equal(ctl_index_of(ctl_modes, "hotel"), -1);
}

static void test_device_events(void **state)
{
	(void)state;
	struct ctl_device_event ev;
	struct ctl_event_error e;
	const char *ok = "{\"device\":\"MC-0001\",\"event_id\":\"e:1\",\"type\":\"door_open\",\"at\":\"2022-04-15T08:30:00+08:00\"}";
	assert_int_equal(ctl_device_event_parse(ok, strlen(ok), &ev, &e), 0);
	assert_string_equal(ev.device, "MC-0001");
	assert_int_equal(ev.at, 1649982600);
	static const struct { const char *body; const char *field; bool not_json; } bad[] = {
		{ "", "", true }, { "[]", "", true }, { "{\"device\":", "", true },
		{ "{\"device\":\"MC\",\"device\":\"MC\",\"event_id\":\"e\",\"type\":\"door_open\",\"at\":1}", "", true },
		{ "{\"device\":{\"a\":1},\"event_id\":\"e\",\"type\":\"door_open\",\"at\":1}", "", false },
		{ "{\"device\":\"MC 1\",\"event_id\":\"e\",\"type\":\"door_open\",\"at\":1}", "device", false },
		{ "{\"device\":\"MC\",\"event_id\":\"\",\"type\":\"door_open\",\"at\":1}", "event_id", false },
		{ "{\"device\":\"MC\",\"event_id\":\"e\",\"type\":\"smoke\",\"at\":1}", "type", false },
		{ "{\"device\":\"MC\",\"event_id\":\"e\",\"type\":\"door_open\",\"at\":-5}", "at", false },
		{ "{\"device\":\"MC\",\"event_id\":\"e\",\"type\":\"door_open\",\"at\":1,\"x\":1}", "x", false },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(ctl_device_event_parse(bad[i].body, strlen(bad[i].body), &ev, &e), -1);
		assert_string_equal(e.field, bad[i].field);
		assert_int_equal(e.not_json, bad[i].not_json);
		assert_true(e.zh[0] && e.en[0]);
	}
	unsigned char key[CTL_DEVICE_KEY_BYTES], mac[crypto_auth_hmacsha256_BYTES];
	char header[7 + 2 * sizeof mac + 1] = "sha256=";
	memset(key, 7, sizeof key);
	crypto_auth_hmacsha256(mac, (const unsigned char *)ok, strlen(ok), key);
	sodium_bin2hex(header + 7, sizeof header - 7, mac, sizeof mac);
	assert_true(ctl_device_signature_ok(key, ok, strlen(ok), header));
	assert_false(ctl_device_signature_ok(key, ok, strlen(ok) - 1, header));
	header[10] = header[10] == '0' ? '1' : '0';
	assert_false(ctl_device_signature_ok(key, ok, strlen(ok), header));
	assert_false(ctl_device_signature_ok(key, ok, strlen(ok), NULL));
	assert_false(ctl_device_signature_ok(key, ok, strlen(ok), "sha1=00"));
}

/* A record's life in counters: what opening adds, leaving takes back. */
static void test_counts(void **state)
{
	(void)state;
	struct ctl_rules rules;
	struct ctl_why why;
	json_t *j = rules_v9();
	assert_int_equal(ctl_rules_parse(j, &rules, &why), 0);
	json_decref(j);
	struct ctl_record rec = { .category = CAT_CLOSE, .mode = MODE_CENTRAL, .start_day = 100, .active_from = 100, .end_day = 109 };
	snprintf(rec.path, sizeof rec.path, "/1/2/");
	struct ctl_counts *c = ctl_counts_new();
	assert_non_null(c);
	ctl_count_open(c, &rec, &rules, true, 100);
	/* per node: active, cat, mode, checks_due, 6 NAT days, opened = 11 entries; 2 nodes */
	assert_int_equal(ctl_counts_size(c), 22);
	/* Released on day 103 (the 4th): NAT days after it go, the day's own stays. */
	ctl_count_leave(c, &rec, &rules, ST_RELEASED, 103);
	assert_int_equal(ctl_counts_size(c), 2 * (11 + 5));   /* + active, cat, mode, checks_due, released on their own days */
	ctl_counts_free(c);
}

/* The roll-up kept in memory is served only while nothing was committed
 * since: a count added by another process (here a second store on the same
 * file, which SQLite treats alike) shows at the next read; inside a
 * transaction that wrote, its own uncommitted count shows, and after its
 * rollback the committed one again. */
static void test_kept_rollup(void **state)
{
	(void)state;
	char dir[] = "/tmp/wg-kept-XXXXXX", path[64], cmd[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/t.db", dir);
	wg_store *sa, *sb;
	wg_conn *a, *b;
	struct ctl_rollup x;
	/* An existing database, as a server opens it. */
	assert_int_equal(store_open(path, 1, &sa), 0);
	store_acquire(sa, &a);
	assert_int_equal(store_exec_script(a, "CREATE TABLE control_counts (node_id INTEGER NOT NULL, key TEXT NOT NULL,"
					   " day INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (node_id, key, day)) WITHOUT ROWID;"
					   "INSERT INTO control_counts VALUES (7, 'active', 100, 2), (7, 'checks', 100, 4);"), 0);
	store_release(sa, a);
	store_close(sa);
	assert_int_equal(store_open(path, 1, &sa), 0);
	assert_int_equal(store_open(path, 1, &sb), 0);
	store_acquire(sa, &a);
	store_acquire(sb, &b);
	assert_int_equal(ctl_rollup_counters(a, 7, 100, &x), 0);
	assert_int_equal(x.active, 2);
	assert_int_not_equal(store_read_version(a), 0);
	assert_int_equal(ctl_rollup_counters(a, 7, 100, &x), 0);   /* kept */
	assert_int_equal(x.checks, 4);
	assert_int_equal(store_run(b, "INSERT INTO control_counts VALUES (7, 'active', 99, 3)", NULL, 0), 0);
	assert_int_equal(ctl_rollup_counters(a, 7, 100, &x), 0);
	assert_int_equal(x.active, 5);
	/* A read transaction: its snapshot's version; another's commit does not change what it reads. */
	assert_int_equal(store_begin_read(a), 0);
	assert_int_equal(ctl_rollup_counters(a, 7, 100, &x), 0);
	assert_int_equal(x.active, 5);
	uint64_t v = store_read_version(a);
	assert_int_not_equal(v, 0);
	assert_int_equal(store_run(b, "INSERT INTO control_counts VALUES (7, 'active', 98, 10)", NULL, 0), 0);
	assert_int_equal(store_read_version(a), v);
	assert_int_equal(ctl_rollup_counters(a, 7, 100, &x), 0);
	assert_int_equal(x.active, 5);
	assert_int_equal(store_commit(a), 0);
	assert_int_not_equal(store_read_version(a), v);
	assert_int_equal(ctl_rollup_counters(a, 7, 100, &x), 0);
	assert_int_equal(x.active, 15);
	/* A write transaction reads its own count, never keeps it; rolled back, the committed one. */
	assert_int_equal(store_begin(a), 0);
	assert_int_equal(store_run(a, "INSERT INTO control_counts VALUES (7, 'active', 97, 1)", NULL, 0), 0);
	assert_int_equal(store_read_version(a), 0);
	assert_int_equal(ctl_rollup_counters(a, 7, 100, &x), 0);
	assert_int_equal(x.active, 16);
	assert_int_equal(store_rollback(a), 0);
	assert_int_equal(ctl_rollup_counters(a, 7, 100, &x), 0);
	assert_int_equal(x.active, 15);
	store_release(sa, a);
	store_release(sb, b);
	store_close(sa);
	store_close(sb);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_device_events),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_kept_rollup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
