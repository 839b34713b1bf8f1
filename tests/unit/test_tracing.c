/* The tracing module's pure parts: the change a scan's or a dwell's audit
 * record is chained by, written straight, must be the text the digest of
 * any other change is taken over (jansson, compact, keys sorted), so that
 * a record reads the same however it was written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tracing/tracing_int.h"
#include "core/audit/audit.h"
#include "core/audit/audit_int.h"

#include <stdlib.h>
#include <string.h>

static void check_same(uint32_t trace_id, bool is_subject, const char *place_key, int64_t place)
{
	wg_buf b = WG_BUF_INIT(256);
	assert_int_equal(scans_stay_change(&b, trace_id, is_subject, place_key, place), 0);
	json_t *o = json_pack("{s:o, s:o, s:I}", "person_id", is_subject ? json_null() : json_integer(trace_id),
			      "subject_id", is_subject ? json_integer(trace_id) : json_null(), place_key, (json_int_t)place);
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(text);
	assert_string_equal(b.data, text);
	char by_text[65], by_tree[65];
	audit_text_hash(b.data, b.len, by_text);
	assert_int_equal(audit_change_hash(o, by_tree), 0);
	assert_string_equal(by_text, by_tree);
	free(text);
	json_decref(o);
	wg_buf_release(&b);
}

static void stay_changes_read_as_jansson_writes_them(void **state)
{
	(void)state;
	check_same(12345, false, "venue_id", 7);           /* a registry person at a venue */
	check_same(2147483650u, true, "venue_id", 1);      /* a phone-only subject */
	check_same(42, false, "cell", 987654321);         /* a dwell: "cell" sorts first */
	check_same(4294967294u, true, "cell", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stay_changes_read_as_jansson_writes_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
