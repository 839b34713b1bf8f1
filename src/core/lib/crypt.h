/* Personal data at rest, and the key files it is keyed with: authenticated encryption of single values and a
 * keyed blind index for exact lookup without decrypting.
 *
 * Ciphertexts read "k<version>:<base64(nonce | XChaCha20-Poly1305 ct)>", the
 * column's name bound in as associated data (a value copied into another
 * column does not decrypt). Field keys are versioned files
 * keys/field.<n>.key; the highest is current; `wangge keys rotate` adds one
 * and re-encrypts everything, so old keys can then be deleted. The blind
 * index is BLAKE2b keyed with keys/blind.key over the column name and the
 * canonical value: equal values give equal indexes, nothing else leaks.
 */
#ifndef WG_CRYPT_H
#define WG_CRYPT_H

#include "core/lib/buf.h"

#include <stdbool.h>
#include <stddef.h>

#define WG_MAX_FIELD_KEYS 16
#define WG_BLIND_HEX 33   /* 16 bytes as hex + NUL */

struct wg_keys {
	unsigned char field[WG_MAX_FIELD_KEYS][32];
	int version[WG_MAX_FIELD_KEYS];
	int count;
	int current;             /* index into field[] of the newest key */
	unsigned char blind[32];
	bool loaded;
};

/* Reads a key file of exactly n bytes; refuses files others may read. */
int  key_file_read(const char *path, unsigned char *key, size_t n);
/* Creates a key file of n random bytes, readable by its owner only. */
int  key_file_create(const char *path, size_t n);

int  crypt_keys_load(const char *data_dir, struct wg_keys *k);
void crypt_keys_wipe(struct wg_keys *k);
/* Creates keys/field.<version>.key; returns its version in *version. */
int  crypt_key_add(const char *data_dir, const struct wg_keys *k, int *version);

int  crypt_encrypt(const struct wg_keys *k, const char *column, const char *plain, size_t n, wg_buf *out);
int  crypt_decrypt(const struct wg_keys *k, const char *column, const char *text, size_t n, wg_buf *out);
/* True when text was encrypted with an older key than the current one. */
bool crypt_is_stale(const struct wg_keys *k, const char *text);
void crypt_blind_index(const struct wg_keys *k, const char *column, const char *plain, size_t n, char out[WG_BLIND_HEX]);

#endif
