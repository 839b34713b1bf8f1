/* SHA-256 of a change, as the audit chain keeps it (audit_text_hash): with
 * the processor's SHA instructions when it has them, else libsodium's.
 * Every live scan's audit record hashes its change on the request's thread;
 * libsodium's portable SHA-256 took a quarter of a microsecond for those 50
 * bytes, the SHA instructions a fifth of that. The digest is the same
 * either way (tests/unit/test_audit.c compares them). */
#include "core/audit/audit_int.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t K[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The state (a..h) over n 64-byte blocks. The instructions keep it as
 * ABEF and CDGH; each step is four rounds, the message schedule four words
 * at a time (sha256msg1 and msg2). */
SHA_TARGET static void blocks_ni(uint32_t state[8], const unsigned char *p, size_t n)
{
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i t = _mm_loadu_si128((const __m128i *)&state[0]);      /* a b c d */
	__m128i cdgh = _mm_loadu_si128((const __m128i *)&state[4]);   /* e f g h */
	t = _mm_shuffle_epi32(t, 0xB1);
	cdgh = _mm_shuffle_epi32(cdgh, 0x1B);
	__m128i abef = _mm_alignr_epi8(t, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, t, 0xF0);
	for (; n > 0; n--, p += 64) {
		__m128i w[4], abef0 = abef, cdgh0 = cdgh;
#pragma GCC unroll 16  /* w stays in registers */
		for (int i = 0; i < 16; i++) {
			__m128i m;
			if (i < 4) {
				m = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
			} else {  /* w[t] = s1(w[t-2]) + w[t-7] + s0(w[t-15]) + w[t-16] */
				m = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				m = _mm_add_epi32(m, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				m = _mm_sha256msg2_epu32(m, w[(i + 3) & 3]);
			}
			w[i & 3] = m;
			__m128i k = _mm_add_epi32(m, _mm_load_si128((const __m128i *)&K[4 * i]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, k);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(k, 0x0E));
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	t = _mm_shuffle_epi32(abef, 0x1B);
	cdgh = _mm_shuffle_epi32(cdgh, 0xB1);
	_mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(t, cdgh, 0xF0));
	_mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(cdgh, t, 8));
}

static bool cpu_has_sha(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3))
		return false;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}

static void sha256_ni(const unsigned char *p, size_t len, unsigned char out[32])
{
	uint32_t st[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	unsigned char last[128] = { 0 };
	size_t full = len / 64, rest = len % 64, tail = rest < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	blocks_ni(st, p, full);
	memcpy(last, p + full * 64, rest);
	last[rest] = 0x80;
	for (int i = 0; i < 8; i++)
		last[tail - 1 - i] = (unsigned char)(bits >> (8 * i));
	blocks_ni(st, last, tail / 64);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(st[i] >> 24);
		out[4 * i + 1] = (unsigned char)(st[i] >> 16);
		out[4 * i + 2] = (unsigned char)(st[i] >> 8);
		out[4 * i + 3] = (unsigned char)st[i];
	}
}

void audit_sha256(const void *data, size_t len, unsigned char out[32])
{
	static int has = -1;  /* the same answer on every thread: a plain race is harmless */
	int h = __atomic_load_n(&has, __ATOMIC_RELAXED);
	if (h < 0) {
		h = cpu_has_sha();
		__atomic_store_n(&has, h, __ATOMIC_RELAXED);
	}
	if (h)
		sha256_ni(data, len, out);
	else
		crypto_hash_sha256(out, data, len);
}

#else

void audit_sha256(const void *data, size_t len, unsigned char out[32])
{
	crypto_hash_sha256(out, data, len);
}

#endif
