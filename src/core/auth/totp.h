/* Two-factor sign-in: time-based one-time codes (TOTP, RFC 6238: HMAC-SHA1,
 * 6 digits, 30-second steps, what every authenticator app reads from a QR
 * code) and single-use recovery codes.
 *
 * The secret (20 random bytes) is kept encrypted like personal data (column
 * "totp_secret" of users, rotated with the field key); a code is good once
 * (the last time step used is remembered) and one step early or late;
 * recovery codes are kept as keyed hashes (the blind index key), each good
 * once. Which roles must use it is a setting (totp_required, totp_roles).
 * The parsers take what people type (spaces and dashes, any case). */
#ifndef WG_TOTP_H
#define WG_TOTP_H

#include "core/app/app.h"
#include "core/auth/rbac.h"
#include "core/store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOTP_DIGITS          6
#define TOTP_PERIOD          30
#define TOTP_WINDOW          1      /* steps early or late accepted */
#define TOTP_SECRET_BYTES    20
#define TOTP_SECRET_TEXT     33     /* base32 of 20 bytes and a NUL */
#define TOTP_RECOVERY_CODES  10
#define TOTP_RECOVERY_CHARS  10     /* shown as xxxxx-xxxxx */
#define TOTP_RECOVERY_TEXT   16
#define TOTP_MAX_INPUT       64     /* what a person may type around a code */

/* Six digits out of what was typed ("123 456", "123-456"); false otherwise. */
bool totp_code_parse(const char *s, size_t n, char out[TOTP_DIGITS + 1]);
/* A recovery code out of what was typed (any case, spaces and dashes): its
 * ten characters in lower case; false otherwise. */
bool totp_recovery_parse(const char *s, size_t n, char out[TOTP_RECOVERY_TEXT]);
/* RFC 4648 base32 without padding (how authenticator apps take a secret). */
void totp_base32(const unsigned char *in, size_t n, char *out, size_t size);
/* The code of a secret at a time step (tests and the CLI's check). */
int  totp_code_at(const unsigned char *secret, size_t n, int64_t step, char out[TOTP_DIGITS + 1]);

/* Whether the role must sign in with a code (wangge.conf). */
bool totp_required_for(const struct wg_config *cfg, const struct wg_role *role);

/* An account's two-factor state. */
struct totp_state {
	bool enabled;
	bool pending;             /* a secret set up but not yet confirmed */
	int64_t recovery_left;
};
int  totp_state_of(wg_conn *c, int64_t user_id, struct totp_state *st);

/* Checks what was typed at sign-in: a code (once per step) or an unused
 * recovery code (then used up). *ok false when it is neither. */
int  totp_check(struct wg_app *app, wg_conn *c, int64_t user_id, const char *given, int64_t now, bool *ok,
		bool *recovery);
/* Sets up a new secret (not yet in force): its base32 text for the app. */
int  totp_begin(struct wg_app *app, wg_conn *c, int64_t user_id, char secret[TOTP_SECRET_TEXT]);
/* Confirms the set-up secret with a code from the app: in force, and a new
 * set of recovery codes (codes[i] TOTP_RECOVERY_TEXT each). *ok false for a wrong code. */
int  totp_confirm(struct wg_app *app, wg_conn *c, int64_t user_id, const char *code, int64_t now, bool *ok,
		  char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT]);
/* A new set of recovery codes, the old ones void. */
int  totp_new_recovery(struct wg_app *app, wg_conn *c, int64_t user_id, char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT]);
/* Two-factor sign-in off for the account (secret, step and codes gone). */
int  totp_reset(wg_conn *c, int64_t user_id);

#endif
