/* Command-line options declared in a table, parsed and explained in one place. */
#ifndef WG_OPTS_H
#define WG_OPTS_H

#include <stdbool.h>
#include <stdio.h>

struct wg_opt {
	const char *name;        /* "--data" */
	const char *arg;         /* "DIR", or NULL for a flag */
	const char **value;      /* receives the argument */
	bool *flag;              /* set for a flag */
	const char *help;        /* one line, zh-CN / English */
};

/* Parses argv[1..]: options from the table, the rest into positional[] (at most max_pos).
 * Returns 0, 1 when --help was asked (usage printed), or 2 after printing what is wrong. */
int opts_parse(int argc, char **argv, const struct wg_opt *opts, const char **positional, int max_pos,
	       int *npos, const char *usage);
void opts_usage(const char *usage, const struct wg_opt *opts, FILE *to);

#endif
