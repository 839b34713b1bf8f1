#include "core/auth/totp.h"
#include "core/lib/crypt.h"
#include "core/lib/err.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Recovery codes avoid letters and digits people confuse (0/o, 1/l/i). */
static const char recovery_alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";

bool totp_code_parse(const char *s, size_t n, char out[TOTP_DIGITS + 1])
{
	size_t k = 0;
	if (n > TOTP_MAX_INPUT)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '-')
			continue;
		if (s[i] < '0' || s[i] > '9' || k == TOTP_DIGITS)
			return false;
		out[k++] = s[i];
	}
	out[k] = '\0';
	return k == TOTP_DIGITS;
}

bool totp_recovery_parse(const char *s, size_t n, char out[TOTP_RECOVERY_TEXT])
{
	size_t k = 0;
	if (n > TOTP_MAX_INPUT)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == ' ' || c == '-')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '\0' || !strchr(recovery_alphabet, c) || k == TOTP_RECOVERY_CHARS)
			return false;
		out[k++] = c;
	}
	out[k] = '\0';
	return k == TOTP_RECOVERY_CHARS;
}

void totp_base32(const unsigned char *in, size_t n, char *out, size_t size)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n && o + 1 < size; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5 && o + 1 < size) {
			out[o++] = alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0 && o + 1 < size)
		out[o++] = alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static void oath_start(void) { oath_init(); }

int totp_code_at(const unsigned char *secret, size_t n, int64_t step, char out[TOTP_DIGITS + 1])
{
	pthread_once(&oath_once, oath_start);
	return oath_totp_generate((const char *)secret, n, (time_t)(step * TOTP_PERIOD), TOTP_PERIOD, 0, TOTP_DIGITS, out)
		== OATH_OK ? 0 : WG_ERR_INTERNAL;
}

/* Whether code is the secret's at a step within the window of now and
 * after last_step; *step the one it matched. */
static bool code_matches(const unsigned char *secret, size_t n, const char *code, int64_t now, int64_t last_step,
			 int64_t *step)
{
	pthread_once(&oath_once, oath_start);
	int pos = 0;
	uint64_t counter = 0;
	int rc = oath_totp_validate3((const char *)secret, n, (time_t)now, TOTP_PERIOD, 0, TOTP_WINDOW, &pos, &counter, code);
	if (rc < 0 || (int64_t)counter <= last_step)
		return false;
	*step = (int64_t)counter;
	return true;
}

bool totp_required_for(const struct wg_config *cfg, const struct wg_role *role)
{
	if (!cfg->totp_required || !role)
		return false;
	size_t len = strlen(role->name);
	for (const char *p = cfg->totp_roles; (p = strstr(p, role->name)) != NULL; p++)
		if ((p == cfg->totp_roles || p[-1] == ' ' || p[-1] == ',') && (p[len] == '\0' || p[len] == ' ' || p[len] == ','))
			return true;
	return false;
}

int totp_state_of(wg_conn *c, int64_t user_id, struct totp_state *st)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(user_id) };
	memset(st, 0, sizeof *st);
	int rc = store_query(c, "SELECT totp_enabled, totp_secret_enc FROM users WHERE id = ?", p, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc == 1) {
		st->enabled = stmt_int(s, 0) != 0;
		st->pending = !st->enabled && stmt_text(s, 1)[0];
	}
	stmt_done(s);
	if (rc < 0)
		return -rc;
	if (rc == 0)
		return WG_ERR_NOT_FOUND;
	return store_int(c, "SELECT COUNT(*) FROM totp_recovery WHERE user_id = ? AND used_at = 0", p, 1, &st->recovery_left);
}

/* The account's secret (decrypted) and the last step used. */
static int load_secret(struct wg_app *app, wg_conn *c, int64_t user_id, unsigned char secret[TOTP_SECRET_BYTES],
		       int64_t *last_step, bool *enabled)
{
	wg_stmt *s;
	wg_param p[] = { WG_PINT(user_id) };
	wg_buf plain = WG_BUF_INIT(256);
	int rc = store_query(c, "SELECT totp_secret_enc, totp_last_step, totp_enabled FROM users WHERE id = ?", p, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc == 1 && stmt_text(s, 0)[0]) {
		*last_step = stmt_int(s, 1);
		*enabled = stmt_int(s, 2) != 0;
		rc = crypt_decrypt(&app->keys, "totp_secret", stmt_text(s, 0), stmt_len(s, 0), &plain);
		if (!rc && plain.len != TOTP_SECRET_BYTES * 2)
			rc = WG_ERR_INTERNAL;
		if (!rc)
			rc = sodium_hex2bin(secret, TOTP_SECRET_BYTES, plain.data, plain.len, NULL, NULL, NULL) == 0 ? 0 : WG_ERR_INTERNAL;
	} else {
		rc = rc < 0 ? -rc : WG_ERR_NOT_FOUND;
	}
	stmt_done(s);
	if (plain.data)
		sodium_memzero(plain.data, plain.cap);
	wg_buf_release(&plain);
	return rc;
}

static void recovery_index(struct wg_app *app, const char *code, char out[WG_BLIND_HEX])
{
	crypt_blind_index(&app->keys, "totp_recovery", code, strlen(code), out);
}

int totp_check(struct wg_app *app, wg_conn *c, int64_t user_id, const char *given, int64_t now, bool *ok, bool *recovery)
{
	unsigned char secret[TOTP_SECRET_BYTES];
	char code[TOTP_RECOVERY_TEXT];
	int64_t last = 0, step = 0;
	bool enabled = false;
	int rc = 0;
	*ok = *recovery = false;
	if (totp_code_parse(given, strlen(given), code)) {
		rc = load_secret(app, c, user_id, secret, &last, &enabled);
		if (!rc && enabled && code_matches(secret, sizeof secret, code, now, last, &step)) {
			wg_param p[] = { WG_PINT(step), WG_PINT(user_id) };
			rc = store_run(c, "UPDATE users SET totp_last_step = ? WHERE id = ?", p, 2);
			*ok = rc == 0;
		}
		sodium_memzero(secret, sizeof secret);
		return rc == WG_ERR_NOT_FOUND ? 0 : rc;
	}
	if (totp_recovery_parse(given, strlen(given), code)) {
		char bidx[WG_BLIND_HEX];
		wg_stmt *s;
		recovery_index(app, code, bidx);
		wg_param p[] = { WG_PINT(now), WG_PINT(user_id), WG_PTEXT(bidx) };
		rc = store_query(c, "UPDATE totp_recovery SET used_at = ? WHERE user_id = ? AND code_bidx = ? AND used_at = 0", p, 3, &s);
		if (!rc) {
			*ok = *recovery = stmt_changes(s) == 1;
			stmt_done(s);
		}
	}
	return rc;
}

int totp_begin(struct wg_app *app, wg_conn *c, int64_t user_id, char secret_text[TOTP_SECRET_TEXT])
{
	unsigned char secret[TOTP_SECRET_BYTES];
	char hex[TOTP_SECRET_BYTES * 2 + 1];
	wg_buf enc = WG_BUF_INIT(512);
	randombytes_buf(secret, sizeof secret);
	totp_base32(secret, sizeof secret, secret_text, TOTP_SECRET_TEXT);
	sodium_bin2hex(hex, sizeof hex, secret, sizeof secret);
	int rc = crypt_encrypt(&app->keys, "totp_secret", hex, strlen(hex), &enc);
	if (!rc) {
		wg_param p[] = { WG_PTEXTN(enc.data, enc.len), WG_PINT(user_id) };
		rc = store_run(c, "UPDATE users SET totp_secret_enc = ?, totp_enabled = 0, totp_last_step = 0 WHERE id = ?", p, 2);
	}
	sodium_memzero(secret, sizeof secret);
	sodium_memzero(hex, sizeof hex);
	wg_buf_release(&enc);
	return rc;
}

int totp_new_recovery(struct wg_app *app, wg_conn *c, int64_t user_id, char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT])
{
	wg_param u[] = { WG_PINT(user_id) };
	int rc = store_run(c, "DELETE FROM totp_recovery WHERE user_id = ?", u, 1);
	for (int i = 0; !rc && i < TOTP_RECOVERY_CODES; i++) {
		char bidx[WG_BLIND_HEX];
		for (int k = 0; k < TOTP_RECOVERY_CHARS; k++)
			codes[i][k] = recovery_alphabet[randombytes_uniform(sizeof recovery_alphabet - 1)];
		codes[i][TOTP_RECOVERY_CHARS] = '\0';
		recovery_index(app, codes[i], bidx);
		wg_param p[] = { WG_PINT(user_id), WG_PTEXT(bidx) };
		rc = store_run(c, "INSERT INTO totp_recovery (user_id, code_bidx, used_at) VALUES (?, ?, 0)", p, 2);
		/* Shown as xxxxx-xxxxx; typed back in any form. */
		memmove(codes[i] + 6, codes[i] + 5, 6);
		codes[i][5] = '-';
	}
	return rc;
}

int totp_confirm(struct wg_app *app, wg_conn *c, int64_t user_id, const char *given, int64_t now, bool *ok,
		 char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT])
{
	unsigned char secret[TOTP_SECRET_BYTES];
	char code[TOTP_DIGITS + 1];
	int64_t last = 0, step = 0;
	bool enabled = false;
	*ok = false;
	int rc = load_secret(app, c, user_id, secret, &last, &enabled);
	if (rc)
		return rc;
	if (totp_code_parse(given, strlen(given), code) && code_matches(secret, sizeof secret, code, now, last, &step)) {
		wg_param p[] = { WG_PINT(step), WG_PINT(user_id) };
		rc = store_run(c, "UPDATE users SET totp_enabled = 1, totp_last_step = ? WHERE id = ?", p, 2);
		if (!rc)
			rc = totp_new_recovery(app, c, user_id, codes);
		*ok = rc == 0;
	}
	sodium_memzero(secret, sizeof secret);
	return rc;
}

int totp_reset(wg_conn *c, int64_t user_id)
{
	wg_param p[] = { WG_PINT(user_id) };
	int rc = store_run(c, "UPDATE users SET totp_secret_enc = NULL, totp_enabled = 0, totp_last_step = 0 WHERE id = ?", p, 1);
	return rc ? rc : store_run(c, "DELETE FROM totp_recovery WHERE user_id = ?", p, 1);
}
