/* Unit tests of the audit chain's hashing: the digest a record keeps of its
 * change must not depend on which SHA-256 computed it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/audit/audit.h"
#include "core/audit/audit_int.h"

#include <sodium.h>
#include <string.h>

/* FIPS 180-2's examples, as the chain writes them (hex). */
static void test_change_hash_known(void **st)
{
	char out[65];
	(void)st;
	audit_text_hash("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	audit_text_hash("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	audit_text_hash(two, sizeof two - 1, out);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* Every length from 0 to 1,000 bytes (one block, the padding spilling into
 * a second, many blocks), random bytes: the same digest as libsodium's. */
static void test_sha256_as_libsodium(void **st)
{
	unsigned char data[1000], a[32], b[32];
	(void)st;
	randombytes_buf_deterministic(data, sizeof data, (const unsigned char *)"wangge audit sha256 test seed 32");
	for (size_t n = 0; n <= sizeof data; n++) {
		audit_sha256(data, n, a);
		crypto_hash_sha256(b, data, n);
		if (memcmp(a, b, sizeof a) != 0)
			fail_msg("SHA-256 of %zu bytes differs from libsodium's", n);
	}
}

/* A scan's change, as scans.c writes it. */
static void test_scan_change_hash(void **st)
{
	static const char change[] = "{\"person_id\":12345,\"subject_id\":null,\"venue_id\":7}";
	unsigned char b[32];
	char want[65], got[65];
	(void)st;
	crypto_hash_sha256(b, (const unsigned char *)change, sizeof change - 1);
	sodium_bin2hex(want, sizeof want, b, sizeof b);
	audit_text_hash(change, sizeof change - 1, got);
	assert_string_equal(got, want);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_change_hash_known),
		cmocka_unit_test(test_sha256_as_libsodium),
		cmocka_unit_test(test_scan_change_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
