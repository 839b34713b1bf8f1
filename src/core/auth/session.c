/* Sign-in, sessions and lockout.
 *
 * Session tokens are 32 random bytes (base64url); only their SHA-256 is
 * stored. A session ends after WG_SESSION_IDLE of inactivity or
 * WG_SESSION_ABSOLUTE after sign-in, whichever comes first. Resolved sessions
 * are cached in memory so an authenticated request costs no query; the
 * cache is dropped for a user whose account changes. */
#include "core/auth/auth.h"
#include "core/auth/roles.h"
#include "core/auth/totp.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CACHE_BUCKETS 4096u
#define LAST_SEEN_WRITE_SECONDS 60

/* Cached by the token itself (compared in constant time), so a cached
 * request costs a SipHash of the token instead of its SHA-256, which only
 * the database lookup needs. */
struct cached_session {
	struct cached_session *next;
	struct wg_principal who;
	int64_t created_at, last_seen, last_written;
	size_t token_len;
	char token[WG_MAX_TOKEN + 1];
};

struct session_cache {
	pthread_mutex_t lock;
	unsigned char bucket_key[crypto_shorthash_KEYBYTES];
	struct cached_session *buckets[CACHE_BUCKETS];
	unsigned count;
};

int session_cache_create(struct session_cache **out)
{
	struct session_cache *c = wg_calloc(1, sizeof *c);
	if (!c)
		return WG_ERR_NOMEM;
	pthread_mutex_init(&c->lock, NULL);
	crypto_shorthash_keygen(c->bucket_key);
	*out = c;
	return 0;
}

static void cache_clear_locked(struct session_cache *c, int64_t user_id)
{
	for (unsigned b = 0; b < CACHE_BUCKETS; b++) {
		struct cached_session **pp = &c->buckets[b];
		while (*pp) {
			struct cached_session *e = *pp;
			if (user_id == 0 || e->who.id == user_id) {
				*pp = e->next;
				sodium_memzero(e->token, sizeof e->token);
				wg_free(e);
				c->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

void session_cache_destroy(struct session_cache *c)
{
	if (!c)
		return;
	cache_clear_locked(c, 0);
	pthread_mutex_destroy(&c->lock);
	wg_free(c);
}

void auth_forget_sessions(struct wg_app *app, int64_t user_id)
{
	struct session_cache *c = app->sessions;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	cache_clear_locked(c, user_id);
	pthread_mutex_unlock(&c->lock);
}

static void cache_remove_locked(struct session_cache *c, unsigned b, struct cached_session *victim)
{
	for (struct cached_session **pp = &c->buckets[b]; *pp; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			sodium_memzero(victim->token, sizeof victim->token);
			wg_free(victim);
			c->count--;
			return;
		}
	}
}

static unsigned bucket_of(const struct session_cache *c, const char *token, size_t n)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	crypto_shorthash(h, (const unsigned char *)token, n, c->bucket_key);
	memcpy(&v, h, sizeof v);
	return (unsigned)(v % CACHE_BUCKETS);
}

static bool token_is(const struct cached_session *e, const char *token, size_t n)
{
	return e->token_len == n && sodium_memcmp(e->token, token, n) == 0;
}

static void token_hash(const char *token, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(out, 65, h, sizeof h);
}

/* ---- passwords ---- */

int auth_hash_password(const struct wg_config *cfg, const char *password, char out[128])
{
	unsigned long long ops = cfg && cfg->pwhash_ops ? (unsigned long long)cfg->pwhash_ops : crypto_pwhash_OPSLIMIT_INTERACTIVE;
	size_t mem = cfg && cfg->pwhash_mem ? (size_t)cfg->pwhash_mem : crypto_pwhash_MEMLIMIT_INTERACTIVE;
	_Static_assert(crypto_pwhash_STRBYTES <= 128, "hash buffer");
	if (crypto_pwhash_str_alg(out, password, strlen(password), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return WG_ERR_NOMEM;
	return 0;
}

bool auth_verify_password(const char *hash, const char *password)
{
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

/* The class of the character at p: 0 lower case, 1 upper case, 2 digit, 3
 * anything else (symbols, spaces, Chinese); *len its bytes. */
static int char_class(const unsigned char *p, size_t *len)
{
	*len = 1;
	if (*p >= 0xC0)
		while (*len < 4 && (p[*len] & 0xC0) == 0x80)
			(*len)++;
	if (*p >= 'a' && *p <= 'z')
		return 0;
	if (*p >= 'A' && *p <= 'Z')
		return 1;
	if (*p >= '0' && *p <= '9')
		return 2;
	return 3;
}

/* Whether hay contains needle, ASCII letters compared without case. */
static bool contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *h = hay; n && strlen(h) >= n; h++)
		if (strncasecmp(h, needle, n) == 0)
			return true;
	return false;
}

bool auth_password_problem(const struct wg_config *cfg, const char *password, const char *username,
			   char zh[WG_PASSWORD_WHY], char en[WG_PASSWORD_WHY])
{
	_Static_assert(WG_MIN_PASSWORD == 10 && WG_MAX_PASSWORD == 256, "the messages below name the limits");
	static const char *const class_zh = "小写字母、大写字母、数字、其他字符(符号、空格、汉字)";
	static const char *const class_en = "lower case, upper case, digits, others (symbols, spaces, Chinese)";
	int64_t want = cfg && cfg->password_classes ? cfg->password_classes : WG_PASSWORD_CLASSES;
	const unsigned char *p = (const unsigned char *)password;
	size_t bytes = strlen(password), chars = 0, distinct = 0, len;
	bool seen_class[4] = { false, false, false, false };
	int classes = 0;
	/* Distinct characters: up to WG_PASSWORD_DISTINCT remembered by their bytes. */
	struct seen_char { const unsigned char *at; size_t len; } first[WG_PASSWORD_DISTINCT];
	for (size_t i = 0; i < bytes; i += len, chars++) {
		int c = char_class(p + i, &len);
		if (i + len > bytes)
			len = bytes - i;
		classes += !seen_class[c];
		seen_class[c] = true;
		bool known = false;
		for (size_t k = 0; k < distinct && !known; k++)
			known = first[k].len == len && memcmp(first[k].at, p + i, len) == 0;
		if (!known && distinct < WG_PASSWORD_DISTINCT)
			first[distinct++] = (struct seen_char){ p + i, len };
	}
	if (chars < WG_MIN_PASSWORD || bytes > WG_MAX_PASSWORD) {
		snprintf(zh, WG_PASSWORD_WHY, "密码长度应为 10 到 256 个字符");
		snprintf(en, WG_PASSWORD_WHY, "the password must be 10 to 256 characters long");
		return true;
	}
	if (distinct < WG_PASSWORD_DISTINCT) {
		snprintf(zh, WG_PASSWORD_WHY, "密码至少要有 %d 个不同的字符", WG_PASSWORD_DISTINCT);
		snprintf(en, WG_PASSWORD_WHY, "the password needs at least %d different characters", WG_PASSWORD_DISTINCT);
		return true;
	}
	if (classes < want) {
		snprintf(zh, WG_PASSWORD_WHY, "密码应包含%s中的至少 %lld 类", class_zh, (long long)want);
		snprintf(en, WG_PASSWORD_WHY, "the password needs characters of at least %lld of: %s", (long long)want, class_en);
		return true;
	}
	/* The user name is the first guess: a password that is little more than it is refused. */
	if (username && strlen(username) >= 3 && contains_nocase(password, username) &&
	    bytes < strlen(username) + WG_MIN_PASSWORD / 2) {
		snprintf(zh, WG_PASSWORD_WHY, "密码不能只是用户名加几个字符");
		snprintf(en, WG_PASSWORD_WHY, "the password must be more than the user name and a few characters");
		return true;
	}
	return false;
}

/* ---- session lookup ---- */

static int load_principal(const struct wg_config *cfg, wg_conn *c, const char *hash, struct cached_session *e)
{
	wg_stmt *s;
	wg_param p[] = { WG_PTEXT(hash) };
	/* Roles changed by another process are taken in here, as disabled accounts are. */
	int rc = roles_refresh(c);
	if (rc)
		return rc;
	rc = store_query(c,
		"SELECT s.created_at, s.last_seen, u.id, u.username, u.role, u.scope_node_id, g.path, u.disabled, s.id,"
		" u.totp_enabled FROM sessions s JOIN users u ON u.id = s.user_id JOIN grid_nodes g ON g.id = u.scope_node_id"
		" WHERE s.token_hash = ?", p, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc != 1) {
		stmt_done(s);
		return rc == 0 ? WG_ERR_UNAUTHORIZED : -rc;
	}
	e->created_at = stmt_int(s, 0);
	e->last_seen = e->last_written = stmt_int(s, 1);
	e->who.id = stmt_int(s, 2);
	snprintf(e->who.username, sizeof e->who.username, "%s", stmt_text(s, 3));
	e->who.role = rbac_role(stmt_text(s, 4));
	e->who.scope_node_id = stmt_int(s, 5);
	snprintf(e->who.scope_path, sizeof e->who.scope_path, "%s", stmt_text(s, 6));
	snprintf(e->who.token_hash, sizeof e->who.token_hash, "%s", hash);
	bool disabled = stmt_int(s, 7) != 0;
	e->who.session_id = stmt_int(s, 8);
	e->who.must_enroll = stmt_int(s, 9) == 0 && totp_required_for(cfg, e->who.role);
	stmt_done(s);
	return disabled || !e->who.role ? WG_ERR_UNAUTHORIZED : 0;
}

static bool session_expired(const struct wg_config *cfg, const struct cached_session *e, int64_t now)
{
	return now - e->last_seen > cfg->session_idle_seconds || now - e->created_at > cfg->session_absolute_seconds;
}

static void session_delete(struct wg_app *app, const char *hash)
{
	wg_conn *c;
	wg_param p[] = { WG_PTEXT(hash) };
	store_acquire(app->store, &c);
	store_run(c, "DELETE FROM sessions WHERE token_hash = ?", p, 1);
	store_release(app->store, c);
}

static void touch(struct wg_app *app, const char *hash, int64_t now)
{
	wg_conn *c;
	wg_param p[] = { WG_PINT(now), WG_PTEXT(hash) };
	store_acquire(app->store, &c);
	store_run(c, "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", p, 2);
	store_release(app->store, c);
}

int auth_session_lookup(struct wg_app *app, const char *token, int64_t now, struct wg_principal *out)
{
	char hash[65];
	struct session_cache *sc = app->sessions;
	size_t n = strlen(token);
	if (n < 16 || n > WG_MAX_TOKEN)
		return WG_ERR_UNAUTHORIZED;
	unsigned b = bucket_of(sc, token, n);
	pthread_mutex_lock(&sc->lock);
	for (struct cached_session *e = sc->buckets[b]; e; e = e->next) {
		if (!token_is(e, token, n))
			continue;
		if (session_expired(&app->config, e, now)) {
			memcpy(hash, e->who.token_hash, sizeof hash);
			cache_remove_locked(sc, b, e);
			pthread_mutex_unlock(&sc->lock);
			session_delete(app, hash);
			return WG_ERR_UNAUTHORIZED;
		}
		if (now - e->last_written >= LAST_SEEN_WRITE_SECONDS) {
			/* Revalidate against the database now and then: an account
			 * disabled by another process ends its sessions within a minute. */
			cache_remove_locked(sc, b, e);
			break;
		}
		e->last_seen = now;
		*out = e->who;
		pthread_mutex_unlock(&sc->lock);
		return 0;
	}
	pthread_mutex_unlock(&sc->lock);

	token_hash(token, hash);
	struct cached_session *e = wg_calloc(1, sizeof *e);
	if (!e)
		return WG_ERR_NOMEM;
	memcpy(e->token, token, n);
	e->token_len = n;
	wg_conn *c;
	store_acquire(app->store, &c);
	int rc = load_principal(&app->config, c, hash, e);
	store_release(app->store, c);
	if (!rc && session_expired(&app->config, e, now)) {
		session_delete(app, hash);
		rc = WG_ERR_UNAUTHORIZED;
	}
	if (rc) {
		wg_free(e);
		return rc;
	}
	e->last_seen = now;
	e->last_written = now;
	*out = e->who;
	touch(app, hash, now);
	pthread_mutex_lock(&sc->lock);
	if (sc->count >= WG_MAX_CACHED_SESSIONS)
		cache_clear_locked(sc, 0);
	e->next = sc->buckets[b];
	sc->buckets[b] = e;
	sc->count++;
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

/* ---- lockout ---- */

int auth_lock_state(wg_conn *c, const char *subject, int64_t now, bool *locked)
{
	int64_t until = 0;
	wg_param p[] = { WG_PTEXT(subject) };
	int rc = store_int(c, "SELECT locked_until FROM login_failures WHERE subject = ?", p, 1, &until);
	if (rc == WG_ERR_NOT_FOUND)
		rc = 0;
	*locked = until > now;
	return rc;
}

int auth_record_failure(struct wg_app *app, wg_conn *c, const char *subject, int64_t limit, int64_t now)
{
	const struct wg_config *cfg = &app->config;
	int64_t window_start = now - cfg->login_window_seconds;
	wg_param p[] = { WG_PTEXT(subject), WG_PINT(now), WG_PINT(window_start), WG_PINT(window_start), WG_PINT(now) };
	/* A failure outside the window starts a new count. */
	int rc = store_run(c,
		"INSERT INTO login_failures (subject, failures, first_at, locked_until) VALUES (?, 1, ?, 0)"
		" ON CONFLICT (subject) DO UPDATE SET"
		" failures = CASE WHEN login_failures.first_at < ? THEN 1 ELSE login_failures.failures + 1 END,"
		" first_at = CASE WHEN login_failures.first_at < ? THEN ? ELSE login_failures.first_at END",
		p, 5);
	if (rc)
		return rc;
	wg_param q[] = { WG_PINT(now + cfg->login_lock_seconds), WG_PTEXT(subject), WG_PINT(limit) };
	return store_run(c, "UPDATE login_failures SET locked_until = ?, failures = 0, first_at = 0"
			    " WHERE subject = ? AND failures >= ?", q, 3);
}

/* ---- sessions ---- */

int auth_session_create(wg_conn *c, int64_t user_id, const char *address, int64_t now, char token[64])
{
	unsigned char raw[32];
	char hash[65];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(token, 64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	token_hash(token, hash);
	wg_param p[] = { WG_PTEXT(hash), WG_PINT(user_id), WG_PINT(now), WG_PINT(now), WG_PTEXT(address) };
	return store_run(c, "INSERT INTO sessions (token_hash, user_id, created_at, last_seen, address) VALUES (?, ?, ?, ?, ?)", p, 5);
}

int auth_principal_load(wg_conn *c, const char *username, struct wg_principal *p)
{
	wg_stmt *s;
	wg_param q[] = { WG_PTEXT(username) };
	int rc = store_query(c, "SELECT u.id, u.role, u.scope_node_id, g.path, u.disabled FROM users u"
			     " JOIN grid_nodes g ON g.id = u.scope_node_id WHERE u.username = ?", q, 1, &s);
	if (rc)
		return rc;
	rc = stmt_next(s);
	if (rc == 1) {
		memset(p, 0, sizeof *p);
		p->id = stmt_int(s, 0);
		p->role = rbac_role(stmt_text(s, 1));
		p->scope_node_id = stmt_int(s, 2);
		snprintf(p->scope_path, sizeof p->scope_path, "%s", stmt_text(s, 3));
		snprintf(p->username, sizeof p->username, "%s", username);
		rc = stmt_int(s, 4) || !p->role ? WG_ERR_DISABLED : 0;
	} else {
		rc = rc < 0 ? -rc : WG_ERR_NOT_FOUND;
	}
	stmt_done(s);
	return rc;
}

int auth_sessions_end(wg_conn *c, int64_t user_id, int64_t session_id)
{
	wg_param p[] = { WG_PINT(user_id), WG_PINT(session_id), WG_PINT(session_id) };
	return store_run(c, "DELETE FROM sessions WHERE user_id = ? AND (? = 0 OR id = ?)", p, 3);
}

/* ---- the login log ---- */

static const char *const login_outcomes[] = {
	"ok", "wrong_password", "unknown_user", "locked", "disabled", "totp_required", "wrong_totp", "too_long", NULL,
};

bool auth_login_outcome_known(const char *outcome)
{
	for (const char *const *o = login_outcomes; *o; o++)
		if (strcmp(*o, outcome) == 0)
			return true;
	return false;
}

int auth_login_record(wg_conn *c, int64_t now, int64_t user_id, const char *username, const char *address,
		      const char *outcome, const char *node_path)
{
	wg_param p[] = { WG_PINT(now), user_id ? WG_PINT(user_id) : WG_PNULL, WG_PTEXT(username), WG_PTEXT(address),
			 WG_PTEXT(outcome), WG_PTEXT(node_path) };
	return store_run(c, "INSERT INTO logins (at, user_id, username, address, outcome, node_path) VALUES (?, ?, ?, ?, ?, ?)", p, 6);
}
