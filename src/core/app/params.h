/* The parameters an administrator reads and sets on 参数设置: a chosen set
 * of wangge.conf's keys, each with its meaning, unit and range. A value set
 * on the page is kept in the store (parameter_values) and wins over
 * wangge.conf until it is taken back. A live parameter takes effect at once
 * in the process that saved it, and in every other process of the same
 * store at its next sign-in (params_load); the others at the next start. */
#ifndef WG_PARAMS_H
#define WG_PARAMS_H

#include "core/app/app.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum param_unit { PARAM_UNIT_NONE, PARAM_SECONDS, PARAM_DAYS, PARAM_COUNT, PARAM_PER_MINUTE };

struct wg_param_spec {
	const char *key, *group;   /* group: where the page lists it ("sign_in") */
	const char *zh, *en;
	enum param_unit unit;
	size_t offset, text_size;  /* in struct wg_config; text_size 0: an int64_t */
	bool editable;             /* may be set on the page */
	bool live;                 /* takes effect without a restart */
};

#define WG_PARAM_TEXT 256      /* room for any parameter's stored text */

size_t params_count(void);
const struct wg_param_spec *params_at(size_t i);
const struct wg_param_spec *params_named(const char *key);
const char *params_unit_name(enum param_unit unit);

/* The value of p in cfg, as the API shows it (a number or a text). */
json_t *params_value_json(const struct wg_config *cfg, const struct wg_param_spec *p);

/* Checks v as a new value of p: the range and form wangge.conf accepts (a
 * time zone this machine knows). On success the stored text is in out; on
 * failure why_zh and why_en say what is wrong. */
bool params_check(const struct wg_param_spec *p, const json_t *v, char out[WG_PARAM_TEXT], char *why_zh,
		  char *why_en, size_t why_size);

/* Takes the stored values into app->config. At start (before any thread)
 * every stored value; later only the live ones, each one the stored value
 * or, when none is stored, wangge.conf's, so that a value taken back in
 * another process is taken back here too. */
int params_load(struct wg_app *app, wg_conn *c, bool at_start);

/* Whether the value p runs with came from the store (the page), not wangge.conf. */
bool params_running_from_page(const struct wg_param_spec *p);

/* Puts one checked stored text (or wangge.conf's value when text is NULL)
 * into the running configuration; live parameters only. */
void params_apply_live(struct wg_app *app, const struct wg_param_spec *p, const char *text);

#endif
