#include "core/lib/crypt.h"
#include "core/lib/err.h"
#include "core/lib/parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int key_file_create(const char *path, size_t n)
{
	unsigned char key[64];
	if (n > sizeof key)
		return WG_ERR_INTERNAL;
	randombytes_buf(key, n);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return wg_error("cannot create key file %s: %s", path, strerror(errno));
	ssize_t w = write(fd, key, n);
	sodium_memzero(key, sizeof key);
	if (w != (ssize_t)n || fsync(fd) != 0) {
		close(fd);
		return wg_error("cannot write key file %s", path);
	}
	return close(fd) == 0 ? 0 : wg_error("cannot write key file %s", path);
}

int key_file_read(const char *path, unsigned char *key, size_t n)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return wg_error("cannot open key file %s: %s / 无法打开密钥文件", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || (sb.st_mode & 077)) {
		close(fd);
		return wg_error("key file %s must be readable by its owner only (chmod 600) / 密钥文件权限应为 600", path);
	}
	ssize_t got = read(fd, key, n);
	close(fd);
	if (got != (ssize_t)n)
		return wg_error("key file %s must hold %zu bytes / 密钥文件长度应为 %zu 字节", path, n, n);
	return 0;
}

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG   crypto_aead_xchacha20poly1305_ietf_ABYTES

static int key_version(const char *name)
{
	uint32_t v;
	size_t n = strlen(name);
	if (n < 11 || strncmp(name, "field.", 6) != 0 || strcmp(name + n - 4, ".key") != 0)
		return 0;
	if (!wg_parse_u32(name + 6, n - 10, &v) || v == 0 || v > 1000000)
		return 0;
	return (int)v;
}

int crypt_keys_load(const char *data_dir, struct wg_keys *k)
{
	char path[1200];
	memset(k, 0, sizeof *k);
	snprintf(path, sizeof path, "%s/keys", data_dir);
	DIR *d = opendir(path);
	if (!d)
		return wg_error("cannot open %s / 无法打开密钥目录", path);
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		int v = key_version(e->d_name);
		if (!v)
			continue;
		if (k->count == WG_MAX_FIELD_KEYS) {
			rc = wg_error("more than %d field keys in %s: delete retired ones / 字段密钥过多", WG_MAX_FIELD_KEYS, path);
			break;
		}
		snprintf(path, sizeof path, "%s/keys/%s", data_dir, e->d_name);
		rc = key_file_read(path, k->field[k->count], 32);
		k->version[k->count] = v;
		if (!rc && v > k->version[k->current])
			k->current = k->count;
		k->count++;
	}
	closedir(d);
	if (!rc && k->count == 0)
		rc = wg_error("no field key (keys/field.1.key) in %s / 缺少字段密钥", data_dir);
	snprintf(path, sizeof path, "%s/keys/blind.key", data_dir);
	if (!rc)
		rc = key_file_read(path, k->blind, 32);
	k->loaded = rc == 0;
	return rc;
}

void crypt_keys_wipe(struct wg_keys *k)
{
	sodium_memzero(k, sizeof *k);
}

int crypt_key_add(const char *data_dir, const struct wg_keys *k, int *version)
{
	char path[1200];
	*version = k->count ? k->version[k->current] + 1 : 1;
	snprintf(path, sizeof path, "%s/keys/field.%d.key", data_dir, *version);
	return key_file_create(path, 32);
}

static const unsigned char *key_for(const struct wg_keys *k, int version)
{
	for (int i = 0; i < k->count; i++)
		if (k->version[i] == version)
			return k->field[i];
	return NULL;
}

/* URL-safe base64 without padding, as sodium_base642bin reads it back. The
 * input is ciphertext, so the constant time of sodium_bin2base64 buys
 * nothing here, and it cost more than the encryption on an import. */
static size_t base64url(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = digits[v >> 18];
		out[o++] = digits[(v >> 12) & 63];
		out[o++] = digits[(v >> 6) & 63];
		out[o++] = digits[v & 63];
	}
	if (n - i == 1) {
		out[o++] = digits[in[i] >> 2];
		out[o++] = digits[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		out[o++] = digits[v >> 10];
		out[o++] = digits[(v >> 4) & 63];
		out[o++] = digits[(v & 15) << 2];
	}
	return o;
}

/* Nonces drawn from the kernel a page at a time, per thread: a getrandom
 * call for every value sealed was two system calls a row of an import (its
 * ID number and phone). Each nonce is handed out once; a process made by
 * fork draws its own before its first. */
#define NONCE_POOL (170 * NONCE)
static _Thread_local unsigned char nonce_pool[NONCE_POOL];
static _Thread_local size_t nonce_used = NONCE_POOL;
static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;

static void nonces_forget(void) { nonce_used = NONCE_POOL; }
static void nonces_watch_fork(void) { pthread_atfork(NULL, NULL, nonces_forget); }

static void next_nonce(unsigned char out[NONCE])
{
	pthread_once(&nonce_once, nonces_watch_fork);
	if (nonce_used + NONCE > NONCE_POOL) {
		randombytes_buf(nonce_pool, NONCE_POOL);
		nonce_used = 0;
	}
	memcpy(out, nonce_pool + nonce_used, NONCE);
	nonce_used += NONCE;
}

int crypt_encrypt(const struct wg_keys *k, const char *column, const char *plain, size_t n, wg_buf *out)
{
	unsigned char stack[NONCE + TAG + 512];
	size_t need = NONCE + n + TAG;
	if (n > 512)
		return WG_ERR_TOO_LARGE;
	unsigned long long clen;
	next_nonce(stack);
	crypto_aead_xchacha20poly1305_ietf_encrypt(stack + NONCE, &clen, (const unsigned char *)plain, n,
						   (const unsigned char *)column, strlen(column), NULL, stack,
						   k->field[k->current]);
	char text[24 + sizeof stack * 4 / 3 + 4];
	size_t len = 0;
	text[len++] = 'k';
	len += wg_format_i64(text + len, k->version[k->current]);
	text[len++] = ':';
	len += base64url(stack, need, text + len);
	wg_buf_reset(out);
	return wg_buf_append(out, text, len);
}

static int parse_prefix(const char *text, size_t n, int *version, size_t *skip)
{
	uint32_t v;
	const char *colon = memchr(text, ':', n < 12 ? n : 12);
	if (n < 3 || text[0] != 'k' || !colon || !wg_parse_u32(text + 1, (size_t)(colon - text - 1), &v))
		return WG_ERR_VALIDATION;
	*version = (int)v;
	*skip = (size_t)(colon - text) + 1;
	return 0;
}

int crypt_decrypt(const struct wg_keys *k, const char *column, const char *text, size_t n, wg_buf *out)
{
	unsigned char raw[NONCE + TAG + 512];
	size_t rawlen, skip;
	int version;
	if (parse_prefix(text, n, &version, &skip))
		return WG_ERR_VALIDATION;
	const unsigned char *key = key_for(k, version);
	if (!key)
		return WG_ERR_VALIDATION;
	if (sodium_base642bin(raw, sizeof raw, text + skip, n - skip, NULL, &rawlen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || rawlen < NONCE + TAG)
		return WG_ERR_VALIDATION;
	unsigned char plain[512];
	unsigned long long plen;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, raw + NONCE, rawlen - NONCE,
						       (const unsigned char *)column, strlen(column), raw, key) != 0)
		return WG_ERR_VALIDATION;
	wg_buf_reset(out);
	int rc = wg_buf_append(out, plain, (size_t)plen);
	sodium_memzero(plain, sizeof plain);
	return rc;
}

bool crypt_is_stale(const struct wg_keys *k, const char *text)
{
	int version;
	size_t skip;
	return parse_prefix(text, strlen(text), &version, &skip) == 0 && version != k->version[k->current];
}

void crypt_blind_index(const struct wg_keys *k, const char *column, const char *plain, size_t n, char out[WG_BLIND_HEX])
{
	unsigned char h[16], msg[1024];
	size_t clen = strlen(column) + 1;
	/* The column's name with its NUL, then the value: in one call when it
	 * fits (most of the cost of a short hash is in the incremental calls). */
	if (clen + n <= sizeof msg) {
		memcpy(msg, column, clen);
		memcpy(msg + clen, plain, n);
		crypto_generichash(h, sizeof h, msg, clen + n, k->blind, sizeof k->blind);
		sodium_memzero(msg, clen + n);
	} else {
		crypto_generichash_state st;
		crypto_generichash_init(&st, k->blind, sizeof k->blind, sizeof h);
		crypto_generichash_update(&st, (const unsigned char *)column, clen);
		crypto_generichash_update(&st, (const unsigned char *)plain, n);
		crypto_generichash_final(&st, h, sizeof h);
	}
	wg_hex(out, h, sizeof h);
}
