/* Unit tests of the platform's pure building blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/lib/arena.h"
#include "core/lib/buf.h"
#include "core/lib/crypt.h"
#include "core/lib/err.h"
#include "core/lib/json.h"
#include "core/lib/mem.h"
#include "core/lib/opts.h"
#include "core/lib/parse.h"
#include "core/lib/timefmt.h"
#include "core/auth/rbac.h"
#include "core/auth/auth.h"
#include "core/auth/totp.h"
#include "core/http/headers.h"
#include "core/auth/scope.h"
#include "core/platform.h"
#include "core/store/migrate.h"
#include "grid/grid.h"
#include "registry/registry.h"
#include "tracing/tracing.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include <sodium.h>
#include <string.h>

static void buf_respects_its_maximum(void **state)
{
	(void)state;
	wg_buf b = WG_BUF_INIT(8);
	assert_int_equal(wg_buf_puts(&b, "12345678"), 0);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(wg_buf_putc(&b, '9'), WG_ERR_TOO_LARGE);
	/* The failure sticks until reset, and the content is unchanged. */
	assert_int_equal(wg_buf_puts(&b, ""), WG_ERR_TOO_LARGE);
	assert_string_equal(b.data, "12345678");
	wg_buf_reset(&b);
	assert_int_equal(wg_buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(b.data, "42-x");
	wg_buf_release(&b);
}

static void buf_rejects_overflowing_sizes(void **state)
{
	(void)state;
	wg_buf b = WG_BUF_INIT(SIZE_MAX);
	assert_int_equal(wg_buf_putc(&b, 'a'), 0);
	assert_int_equal(wg_buf_reserve(&b, SIZE_MAX), WG_ERR_TOO_LARGE);
	wg_buf_release(&b);
}

static void buf_hex_and_detach(void **state)
{
	(void)state;
	wg_buf b = WG_BUF_INIT(64);
	const uint8_t bytes[] = { 0x00, 0xab, 0xff };
	assert_int_equal(wg_buf_hex(&b, bytes, 3), 0);
	size_t len;
	char *s = wg_buf_detach(&b, &len);
	assert_string_equal(s, "00abff");
	assert_int_equal(len, 6);
	assert_null(b.data);
	wg_free(s);
}

static void failed_allocation_is_reported_not_fatal(void **state)
{
	(void)state;
	wg_buf b = WG_BUF_INIT(1024);
	wg_mem_fail_at(1);
	assert_int_equal(wg_buf_puts(&b, "hello"), WG_ERR_NOMEM);
	assert_true(wg_mem_failure_fired());
	wg_mem_fail_at(0);
	wg_buf_reset(&b);
	assert_int_equal(wg_buf_puts(&b, "hello"), 0);
	wg_buf_release(&b);
}

static void every_allocation_of_an_arena_can_fail_cleanly(void **state)
{
	(void)state;
	for (uint64_t n = 1; n < 20; n++) {
		wg_arena a;
		arena_init(&a, 1 << 20);
		wg_mem_fail_at(n);
		bool failed = false;
		for (int i = 0; i < 100 && !failed; i++)
			failed = arena_printf(&a, "item %d of a long enough text to fill chunks %0200d", i, i) == NULL;
		assert_true(failed == wg_mem_failure_fired());
		arena_release(&a);
	}
	wg_mem_fail_at(0);
}

static void arena_enforces_its_budget(void **state)
{
	(void)state;
	wg_arena a;
	arena_init(&a, 100);
	assert_non_null(arena_alloc(&a, 64));
	assert_null(arena_alloc(&a, 64));
	char *s = arena_strndup(&a, "abcdef", 3);
	assert_string_equal(s, "abc");
	assert_int_equal((uintptr_t)s % 16, 0);
	arena_release(&a);
}

static void numbers_parse_exactly(void **state)
{
	(void)state;
	uint32_t u;
	int64_t i;
	uint64_t v;
	assert_true(wg_parse_u32("4294967295", 10, &u));
	assert_int_equal(u, 4294967295u);
	assert_false(wg_parse_u32("4294967296", 10, &u));
	assert_false(wg_parse_u32("", 0, &u));
	assert_false(wg_parse_u32("12a", 3, &u));
	assert_false(wg_parse_u32("+1", 2, &u));
	assert_false(wg_parse_u32(" 1", 2, &u));
	assert_true(wg_parse_u32("123456", 3, &u)); /* reads only n bytes */
	assert_int_equal(u, 123);
	assert_true(wg_parse_i64("-9223372036854775808", 20, &i));
	assert_true(i == INT64_MIN);
	assert_false(wg_parse_i64("9223372036854775808", 19, &i));
	assert_false(wg_parse_i64("-", 1, &i));
	assert_false(wg_parse_u64("18446744073709551616", 20, &v));
}

static void dates_must_exist(void **state)
{
	(void)state;
	int y, m, d;
	assert_true(wg_parse_date("2020-02-29", 10, &y, &m, &d));
	assert_int_equal(d, 29);
	assert_false(wg_parse_date("2021-02-29", 10, &y, &m, &d));
	assert_false(wg_parse_date("1900-02-29", 10, &y, &m, &d));
	assert_true(wg_parse_date("2000-02-29", 10, &y, &m, &d));
	assert_false(wg_parse_date("2021-13-01", 10, &y, &m, &d));
	assert_false(wg_parse_date("2021-04-31", 10, &y, &m, &d));
	assert_false(wg_parse_date("2021-4-30", 9, &y, &m, &d));
	assert_false(wg_parse_date("2021/04/30", 10, &y, &m, &d));
	assert_int_equal(wg_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(wg_days_from_civil(2022, 11, 11), 19307);
}

static void scope_is_a_path_prefix(void **state)
{
	(void)state;
	char lo[64], hi[64];
	assert_true(scope_contains("/1/2/", "/1/2/"));
	assert_true(scope_contains("/1/2/", "/1/2/30/"));
	assert_false(scope_contains("/1/2/", "/1/20/"));
	assert_false(scope_contains("/1/2/", "/1/"));
	assert_false(scope_contains("", "/1/"));
	scope_range("/1/2/", lo, hi, sizeof lo);
	assert_string_equal(lo, "/1/2/");
	assert_string_equal(hi, "/1/20");
	/* Everything inside the range has the prefix, and the sibling /1/20/ sorts after it. */
	assert_true(strcmp("/1/2/999/", hi) < 0);
	assert_true(strcmp("/1/20/", hi) >= 0);
	assert_true(strcmp("/1/2/", lo) >= 0);
}

static void error_table_is_complete(void **state)
{
	(void)state;
	for (int e = 0; e < WG_ERR__COUNT; e++) {
		assert_true(strlen(wg_err_code(e)) > 0);
		assert_true(wg_err_status(e) >= 200 && wg_err_status(e) < 600);
		assert_true(strlen(wg_err_zh(e)) > 0);
		assert_true(strlen(wg_err_en(e)) > 0);
	}
	assert_int_equal(wg_err_status(WG_ERR_PRECONDITION), 412);
	assert_string_equal(wg_err_code(9999), "internal");
}

static void roles_follow_least_privilege(void **state)
{
	(void)state;
	assert_int_equal(platform_declare(), 0);
	assert_int_equal(rbac_install_defaults(), 0);
	const struct wg_role *admin = rbac_role("admin"), *auditor = rbac_role("auditor"),
		*community = rbac_role("community"), *grid = rbac_role("grid_worker"), *command = rbac_role("command");
	assert_non_null(admin);
	assert_null(rbac_role("root"));
	assert_true(rbac_allows(auditor, &right_AUDIT_READ));
	assert_false(rbac_allows(auditor, &right_GRID_READ));
	assert_false(rbac_allows(grid, &right_GRID_WRITE));
	assert_true(rbac_allows(grid, NULL));
	assert_false(rbac_allows(NULL, &right_GRID_READ));
	/* The admin runs the system but does not see personal data whole. */
	assert_false(rbac_allows(admin, &right_PERSON_REVEAL));
	assert_true(rbac_allows(command, &right_PERSON_REVEAL));
	assert_true(rbac_may_manage(admin, admin));
	assert_true(rbac_may_manage(command, community));
	assert_false(rbac_may_manage(community, command));
	assert_false(rbac_may_manage(community, community));
	assert_false(rbac_may_manage(grid, rbac_role("volunteer")));  /* no USER_WRITE */
	assert_false(rbac_may_manage(command, auditor));             /* the audited do not appoint auditors */
	assert_false(rbac_may_manage(admin, auditor));               /* the admin neither (separation of duties) */
	assert_false(rbac_allows(admin, &right_AUDIT_READ));         /* nor reads the trail */
	assert_true(rbac_reads_audit(auditor));
	assert_false(rbac_reads_audit(admin));
	/* Every right of every module is known by name, once, with its module. */
	assert_ptr_equal(right_named("TRACE_RUN"), &right_TRACE_RUN);
	assert_string_equal(right_TRACE_RUN.module, "tracing");
	assert_string_equal(right_USER_WRITE.module, "core");
	assert_int_equal(rights_register(grid_rights, "grid"), WG_ERR_INTERNAL);
	platform_forget();
	assert_int_equal(right_GRID_READ.bit, -1);
}

/* Hundreds of rights fit a role's set; separation of duties is checked on the set. */
static void right_sets_hold_hundreds(void **state)
{
	(void)state;
	static struct wg_right many[WG_MAX_RIGHTS];
	static struct wg_right *list[WG_MAX_RIGHTS + 1];
	static char names[WG_MAX_RIGHTS][32];
	assert_int_equal(platform_declare(), 0);
	int first = rights_count();
	size_t n = WG_MAX_RIGHTS - (size_t)first;
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof names[i], "TEST_%zu", i);
		many[i] = (struct wg_right){ names[i], "测试", "test", i % 2 ? RIGHT_WRITES : 0, "", -1, NULL };
		list[i] = &many[i];
	}
	list[n] = NULL;
	assert_int_equal(rights_register(list, "test"), 0);
	assert_int_equal(rights_count(), (int)WG_MAX_RIGHTS);
	struct wg_right one_more = { "ONE_MORE", "", "", 0, "", -1, NULL };
	struct wg_right *more[] = { &one_more, NULL };
	assert_int_equal(rights_register(more, "test"), WG_ERR_TOO_LARGE);
	struct wg_rights set = { 0 }, small = { 0 };
	rights_add(&set, &many[n - 1]);
	rights_add(&set, &many[1]);   /* odd: a right that writes */
	assert_true(rights_has(&set, &many[n - 1]));
	assert_false(rights_has(&set, &many[n - 2]));
	assert_ptr_equal(rights_beyond(&set, &small), &many[1]);
	const char *en = NULL;
	assert_null(rights_conflict(&set, &en));   /* a writing right, no audit */
	rights_add(&set, &right_AUDIT_READ);
	assert_non_null(rights_conflict(&set, &en));
	assert_non_null(strstr(en, "audit"));
	struct wg_rights admin = { 0 };
	rights_add(&admin, &right_SYSTEM);
	rights_add(&admin, &right_PERSON_REVEAL);
	assert_non_null(rights_conflict(&admin, &en));
	platform_forget();
}

/* Module migrations are numbered across modules: a number used twice is refused. */
static void migration_numbers_are_global(void **state)
{
	(void)state;
	static const struct wg_migration a[] = { { "sqlite", 5, "0005_a", "" }, { "postgres", 5, "0005_a", "" }, { 0, 0, 0, 0 } };
	static const struct wg_migration b[] = { { "sqlite", 6, "0006_b", "" }, { "postgres", 6, "0006_b", "" }, { 0, 0, 0, 0 } };
	static const struct wg_migration c[] = { { "sqlite", 5, "0005_c", "" }, { 0, 0, 0, 0 } };
	const struct wg_migration *ok[] = { a, b }, *clash[] = { a, b, c };
	struct wg_schema good = { ok, 2 }, bad = { clash, 3 };
	assert_int_equal(migrate_check(&good), 0);
	assert_int_not_equal(migrate_check(&bad), 0);
	assert_int_equal(migrate_check(platform_schema()), 0);
}

static void options_parse_from_a_table(void **state)
{
	(void)state;
	const char *data = "default", *pos[2];
	bool flag = false;
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "data" },
		{ "--fast", NULL, NULL, &flag, "flag" },
		{ 0 },
	};
	char *ok[] = { "cmd", "--data", "/x", "--fast", "file", NULL };
	assert_int_equal(opts_parse(5, ok, opts, pos, 2, &npos, "cmd"), 0);
	assert_string_equal(data, "/x");
	assert_true(flag);
	assert_int_equal(npos, 1);
	assert_string_equal(pos[0], "file");
	char *eq[] = { "cmd", "--data=/y", NULL };
	assert_int_equal(opts_parse(2, eq, opts, pos, 2, &npos, "cmd"), 0);
	assert_string_equal(data, "/y");
	char *unknown[] = { "cmd", "--nope", NULL };
	assert_int_equal(opts_parse(2, unknown, opts, pos, 2, &npos, "cmd"), 2);
	char *missing[] = { "cmd", "--data", NULL };
	assert_int_equal(opts_parse(2, missing, opts, pos, 2, &npos, "cmd"), 2);
	char *extra[] = { "cmd", "a", "b", "c", NULL };
	assert_int_equal(opts_parse(4, extra, opts, pos, 2, &npos, "cmd"), 2);
	char *flagval[] = { "cmd", "--fast=1", NULL };
	assert_int_equal(opts_parse(2, flagval, opts, pos, 2, &npos, "cmd"), 2);
}

static void json_is_emitted_compact_and_escaped(void **state)
{
	(void)state;
	json_t *v = json_pack("{s:s, s:I, s:I, s:[b, n, f], s:{}}", "name", "张\"三\\\n\x01", "min", (json_int_t)INT64_MIN,
			      "zero", (json_int_t)0, "list", 1, 0.5, "empty");
	wg_buf b = WG_BUF_INIT(4096);
	assert_int_equal(json_emit(&b, v), 0);
	assert_string_equal(b.data, "{\"name\":\"张\\\"三\\\\\\n\\u0001\",\"min\":-9223372036854775808,"
				    "\"zero\":0,\"list\":[true,null,0.5],\"empty\":{}}");
	/* What jansson itself reads back is what went in. */
	json_t *back = json_loads(b.data, 0, NULL);
	assert_true(json_equal(v, back));
	json_decref(back);
	wg_buf_release(&b);
	wg_buf small = WG_BUF_INIT(8);
	assert_int_equal(json_emit(&small, v), WG_ERR_TOO_LARGE);
	wg_buf_release(&small);
	json_decref(v);
}

static void test_keys(struct wg_keys *k)
{
	memset(k, 0, sizeof *k);
	assert_int_equal(sodium_init() >= 0, 1);
	k->count = 1;
	k->version[0] = 7;
	randombytes_buf(k->field[0], sizeof k->field[0]);
	randombytes_buf(k->blind, sizeof k->blind);
	k->loaded = true;
}

/* Every length (every base64 tail): "k7:" then URL-safe base64 without
 * padding that libsodium's decoder reads, and back to the same value. */
static void encryption_round_trips_every_length(void **state)
{
	(void)state;
	struct wg_keys k;
	char plain[64];
	test_keys(&k);
	for (size_t n = 0; n < sizeof plain; n++) {
		wg_buf enc = WG_BUF_INIT(4096), dec = WG_BUF_INIT(4096);
		memset(plain, 'a' + (int)(n % 26), n);
		assert_int_equal(crypt_encrypt(&k, "id_number", plain, n, &enc), 0);
		assert_memory_equal(enc.data, "k7:", 3);
		unsigned char raw[256];
		size_t rawlen;
		assert_int_equal(sodium_base642bin(raw, sizeof raw, enc.data + 3, enc.len - 3, NULL, &rawlen, NULL,
						   sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
		assert_int_equal(rawlen, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
					 crypto_aead_xchacha20poly1305_ietf_ABYTES);
		assert_int_equal(crypt_decrypt(&k, "id_number", enc.data, enc.len, &dec), 0);
		assert_int_equal(dec.len, n);
		assert_memory_equal(dec.data ? dec.data : "", plain, n);
		/* bound to its column */
		assert_int_equal(crypt_decrypt(&k, "phone", enc.data, enc.len, &dec), WG_ERR_VALIDATION);
		wg_buf_release(&enc);
		wg_buf_release(&dec);
	}
}

static void nonce_of(const struct wg_keys *k, unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES])
{
	wg_buf enc = WG_BUF_INIT(4096);
	unsigned char raw[256];
	size_t rawlen;
	assert_int_equal(crypt_encrypt(k, "phone", "13900000000", 11, &enc), 0);
	assert_int_equal(sodium_base642bin(raw, sizeof raw, enc.data + 3, enc.len - 3, NULL, &rawlen, NULL,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	memcpy(nonce, raw, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	wg_buf_release(&enc);
}

/* Nonces come from a pool drawn a page at a time: never one twice, across
 * refills of the pool, and not the parent's after a fork. */
static void nonces_are_never_reused(void **state)
{
	(void)state;
	enum { N = 1000, L = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES };
	struct wg_keys k;
	static unsigned char seen[N][L];
	test_keys(&k);
	for (size_t i = 0; i < N; i++) {
		nonce_of(&k, seen[i]);
		for (size_t j = 0; j < i; j++)
			assert_memory_not_equal(seen[i], seen[j], L);
	}
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		unsigned char mine[L];
		nonce_of(&k, mine);
		_exit(write(fds[1], mine, L) == L ? 0 : 1);
	}
	unsigned char theirs[L], mine[L];
	assert_int_equal(read(fds[0], theirs, L), L);
	nonce_of(&k, mine);
	assert_memory_not_equal(theirs, mine, L);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(status, 0);
	close(fds[0]);
	close(fds[1]);
}

/* The blind index as it is defined, worked out in one go. */
static void reference_blind(const struct wg_keys *k, const char *column, const char *value, size_t n, char out[WG_BLIND_HEX])
{
	crypto_generichash_state st;
	unsigned char h[16];
	crypto_generichash_init(&st, k->blind, sizeof k->blind, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)column, strlen(column) + 1);
	crypto_generichash_update(&st, (const unsigned char *)value, n);
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(out, WG_BLIND_HEX, h, sizeof h);
}

/* The blind index stays what stored rows were indexed with: keyed
 * BLAKE2b-128 over the column name, its NUL, and the value, as hex, for
 * every column and key in turn (the short message goes through in one
 * call, the long one in parts). */
static void blind_index_is_stable(void **state)
{
	(void)state;
	struct wg_keys k, other;
	char got[WG_BLIND_HEX], want[WG_BLIND_HEX], big[2000];
	test_keys(&k);
	test_keys(&other);
	assert_memory_not_equal(k.blind, other.blind, sizeof k.blind);
	memset(big, '7', sizeof big);
	size_t lengths[] = { 0, 11, 18, sizeof big };
	/* several columns, a long name, two keys in turn */
	const char *columns[] = { "phone", "id_number", "a", "b", "c", "phone",
				  "a column whose name is long, longer than many values it indexes", "id_number" };
	for (size_t round = 0; round < 3; round++)
		for (size_t c = 0; c < sizeof columns / sizeof columns[0]; c++)
			for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
				const struct wg_keys *key = (c + round) % 2 ? &other : &k;
				reference_blind(key, columns[c], big, lengths[i], want);
				crypt_blind_index(key, columns[c], big, lengths[i], got);
				assert_string_equal(got, want);
			}
	/* the same value in another column indexes differently */
	crypt_blind_index(&k, "phone", big, 11, got);
	crypt_blind_index(&k, "id_number", big, 11, want);
	assert_string_not_equal(got, want);
}

/* RFC 6238's test vector (SHA-1, T = 59 s → 94287082, of which the 6 digits
 * an authenticator shows), base32 as the apps take it, and the parsers of
 * what people type. */
static void totp_follows_rfc_6238(void **state)
{
	(void)state;
	static const unsigned char secret[] = "12345678901234567890";
	char code[TOTP_DIGITS + 1], text[TOTP_SECRET_TEXT], rec[TOTP_RECOVERY_TEXT];
	assert_int_equal(totp_code_at(secret, 20, 1, code), 0);
	assert_string_equal(code, "287082");
	assert_int_equal(totp_code_at(secret, 20, 1111111109 / 30, code), 0);
	assert_string_equal(code, "081804");
	totp_base32(secret, 20, text, sizeof text);
	assert_string_equal(text, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	assert_true(totp_code_parse("123 456", 7, code));
	assert_string_equal(code, "123456");
	assert_true(totp_code_parse("123-456", 7, code));
	assert_false(totp_code_parse("12345", 5, code));
	assert_false(totp_code_parse("1234567", 7, code));
	assert_false(totp_code_parse("12a456", 6, code));
	assert_true(totp_recovery_parse("ABCDE-FGHJK", 11, rec));
	assert_string_equal(rec, "abcdefghjk");
	assert_false(totp_recovery_parse("abcde-fghj1", 11, rec));   /* 1 is not in the alphabet */
	assert_false(totp_recovery_parse("abcd", 4, rec));
	struct wg_config cfg;
	config_defaults(&cfg);
	struct wg_role admin = { .name = "admin" }, admin2 = { .name = "admin2" }, gw = { .name = "grid_worker" };
	assert_false(totp_required_for(&cfg, &admin));
	cfg.totp_required = 1;
	assert_true(totp_required_for(&cfg, &admin));
	assert_false(totp_required_for(&cfg, &admin2));
	assert_false(totp_required_for(&cfg, &gw));
}

/* GB/T 22239: length and complexity. */
static void passwords_need_length_and_complexity(void **state)
{
	(void)state;
	struct wg_config cfg;
	char zh[WG_PASSWORD_WHY], en[WG_PASSWORD_WHY];
	config_defaults(&cfg);
	static const char *const weak[] = { "0000000000", "          ", "abcdefghijkl", "abcdefgh12", "Ab1-", "aaaaaaaaaA1-",
					    "ABCDEFGHIJ", NULL };
	for (const char *const *w = weak; *w; w++)
		assert_true(auth_password_problem(&cfg, *w, "someone", zh, en));
	assert_false(auth_password_problem(&cfg, "wangge-demo-2026", "someone", zh, en));
	assert_false(auth_password_problem(&cfg, "网格 Strong 2026", "someone", zh, en));
	assert_true(auth_password_problem(&cfg, "Zhangsan-1", "zhangsan", zh, en));      /* the name and a few */
	assert_false(auth_password_problem(&cfg, "admin-password-2026", "admin", zh, en));
	cfg.password_classes = 4;
	assert_true(auth_password_problem(&cfg, "wangge-demo-2026", "someone", zh, en));
	assert_false(auth_password_problem(&cfg, "Wangge-demo-2026", "someone", zh, en));
}

/* Headers read with care: the bearer scheme in any case, media types, where a write comes from. */
static void headers_are_read_strictly(void **state)
{
	(void)state;
	assert_string_equal(http_bearer_token("Bearer abc"), "abc");
	assert_string_equal(http_bearer_token("bearer   abc"), "abc");
	assert_null(http_bearer_token("Bearerabc"));
	assert_null(http_bearer_token("Basic abc"));
	assert_null(http_bearer_token("Bearer "));
	assert_true(http_media_type_is("Application/JSON; charset=utf-8", "application/json"));
	assert_false(http_media_type_is("application/jsonx", "application/json"));
	assert_false(http_media_type_is(NULL, "application/json"));
	assert_int_equal(http_request_site("same-origin", "https://evil.example", "x", NULL), HTTP_SITE_SAME);
	assert_int_equal(http_request_site("cross-site", NULL, "x", NULL), HTTP_SITE_CROSS);
	assert_int_equal(http_request_site(NULL, "http://127.0.0.1:8080", "127.0.0.1:8080", NULL), HTTP_SITE_SAME);
	assert_int_equal(http_request_site(NULL, "http://127.0.0.1:8080.evil", "127.0.0.1:8080", NULL), HTTP_SITE_CROSS);
	assert_int_equal(http_request_site(NULL, "http://user@127.0.0.1:8080", "127.0.0.1:8080", NULL), HTTP_SITE_CROSS);
	assert_int_equal(http_request_site(NULL, "null", "127.0.0.1:8080", NULL), HTTP_SITE_CROSS);
	assert_int_equal(http_request_site(NULL, "https://w.gov.cn", "127.0.0.1:8080", "https://a.cn https://w.gov.cn"), HTTP_SITE_SAME);
	assert_int_equal(http_request_site(NULL, NULL, "x", NULL), HTTP_SITE_UNKNOWN);
}


/* Flat bodies are read without jansson's parser, to the same object; anything
 * else is left to jansson (NULL), which names what is wrong. */
/* Builds and frees objects of texts of every short length on its thread. */
static void *json_churn(void *arg)
{
	char text[100];
	memset(text, 'x', sizeof text);
	for (int round = 0; round < 50; round++) {
		json_t *o = json_object();
		for (size_t n = 0; o && n < sizeof text; n++) {
			char key[8];
			snprintf(key, sizeof key, "k%zu", n);
			json_object_set_new(o, key, json_stringn(text, n));
		}
		bool *same = arg;
		*same = *same && o && json_object_size(o) == sizeof text &&
			json_string_length(json_object_get(o, "k57")) == 57;
		json_decref(o);
	}
	return NULL;
}

/* jansson's blocks kept per thread (json_alloc.c): a block handed out
 * again holds what was asked (ASan would see a write past it), and a
 * thread that ends gives back what it kept (LeakSanitizer would see it). */
static void json_blocks_kept_fit_and_go_back(void **state)
{
	(void)state;
	json_alloc_install();
	json_malloc_t m;
	json_free_t f;
	json_get_alloc_funcs(&m, &f);
	void *held[300];
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < 300; i++) {
			size_t n = 1 + (i * 37 + (size_t)round * 11) % 120;
			held[i] = m(n);
			assert_non_null(held[i]);
			memset(held[i], 0xA5, n);
		}
		for (size_t i = 0; i < 300; i++)
			f(held[i]);
	}
	bool same = true;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, json_churn, &same), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(same);
}

static void flat_bodies_read_as_jansson_reads_them(void **state)
{
	(void)state;
	static const char *same[] = {
		"{\"venue_code\":\"V4K2M9QX7T\",\"person_id\":12345,\"t_in\":1796000000,\"t_out\":1796000600}",
		" {\r\n\t\"a\" : -7 , \"b\":true,\"c\":false,\"d\":null,\"e\":\"x y/z\",\"\":0 } ",
		"{}", "{\"n\":999999999999999999}",
	};
	static const char *left[] = {
		"{\"a\":1,\"a\":2}", "{\"n\":1.5}", "{\"n\":1e3}", "{\"n\":01}", "{\"n\":-0}", "{\"n\":-}",
		"{\"n\":1234567890123456789}", "{\"s\":\"\\u4e2d\"}", "{\"s\":\"\xe4\xb8\xad\"}", "{\"a\":[1]}",
		"{\"a\":{}}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":truex}", "[1]", "", "{\"a\" 1}", "{\"a\":\"x",
		"{\"a\":1", "{\"a\":\"tab\there\"}",
	};
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		json_t *flat = json_flat_load(same[i], strlen(same[i]));
		json_t *full = json_loads(same[i], JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(flat);
		assert_non_null(full);
		assert_true(json_equal(flat, full));
		json_decref(flat);
		json_decref(full);
	}
	for (size_t i = 0; i < sizeof left / sizeof left[0]; i++)
		assert_null(json_flat_load(left[i], strlen(left[i])));
}

/* Local time as people read it, and the times they type. */
static void times_are_read_and_written_in_local_time(void **state)
{
	(void)state;
	char iso[WG_TIME_ISO], human[WG_TIME_HUMAN], twin[WG_TIME_TWIN];
	const char *zh, *en;
	int64_t t;
	assert_true(wg_time_zone_set("Asia/Shanghai"));
	wg_time_iso(1795435071, iso);
	assert_string_equal(iso, "2026-11-23T19:57:51+08:00");
	wg_time_human(1795435071, human);
	assert_string_equal(human, "2026-11-23 19:57");
	assert_true(wg_time_parse(iso, strlen(iso), false, &t, &zh, &en));
	assert_int_equal(t, 1795435071);
	assert_true(wg_time_parse("2026-11-23T11:57:51Z", 20, false, &t, &zh, &en));
	assert_int_equal(t, 1795435071);
	assert_true(wg_time_parse("1795435071", 10, false, &t, &zh, &en));
	assert_int_equal(t, 1795435071);
	assert_true(wg_time_parse("2026-11-23 19:57:51", 19, false, &t, &zh, &en));   /* local, no offset */
	assert_int_equal(t, 1795435071);
	assert_true(wg_time_parse("2026-11-24", 10, true, &t, &zh, &en));            /* a day: its local midnight */
	assert_int_equal(t, 1795449600);
	assert_false(wg_time_parse("2026-11-24", 10, false, &t, &zh, &en));
	assert_false(wg_time_parse("2026-06-31T00:00", 16, false, &t, &zh, &en));
	assert_false(wg_time_parse("2026-11-23T24:00:00Z", 20, false, &t, &zh, &en));
	wg_time_twin("t_in", twin);
	assert_string_equal(twin, "t_in_at");
	wg_time_twin("created_at", twin);
	assert_string_equal(twin, "created_at_text");
	assert_false(wg_time_zone_set("Mars/Olympus"));
	assert_true(wg_time_zone_set("UTC"));
	wg_time_iso(0, iso);
	assert_string_equal(iso, "1970-01-01T00:00:00+00:00");
	assert_true(wg_time_zone_set("Asia/Shanghai"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_respects_its_maximum),
		cmocka_unit_test(encryption_round_trips_every_length),
		cmocka_unit_test(nonces_are_never_reused),
		cmocka_unit_test(blind_index_is_stable),
		cmocka_unit_test(buf_rejects_overflowing_sizes),
		cmocka_unit_test(buf_hex_and_detach),
		cmocka_unit_test(failed_allocation_is_reported_not_fatal),
		cmocka_unit_test(every_allocation_of_an_arena_can_fail_cleanly),
		cmocka_unit_test(arena_enforces_its_budget),
		cmocka_unit_test(numbers_parse_exactly),
		cmocka_unit_test(dates_must_exist),
		cmocka_unit_test(scope_is_a_path_prefix),
		cmocka_unit_test(error_table_is_complete),
		cmocka_unit_test(roles_follow_least_privilege),
		cmocka_unit_test(right_sets_hold_hundreds),
		cmocka_unit_test(migration_numbers_are_global),
		cmocka_unit_test(options_parse_from_a_table),
		cmocka_unit_test(json_is_emitted_compact_and_escaped),
		cmocka_unit_test(totp_follows_rfc_6238),
		cmocka_unit_test(passwords_need_length_and_complexity),
		cmocka_unit_test(headers_are_read_strictly),
		cmocka_unit_test(times_are_read_and_written_in_local_time),
		cmocka_unit_test(flat_bodies_read_as_jansson_reads_them),
		cmocka_unit_test(json_blocks_kept_fit_and_go_back),
	};
	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
