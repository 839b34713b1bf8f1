#include "core/lib/opts.h"

#include <string.h>

void opts_usage(const char *usage, const struct wg_opt *opts, FILE *to)
{
	fprintf(to, "usage: %s\n", usage);
	for (const struct wg_opt *o = opts; o && o->name; o++) {
		char left[64];
		snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(to, "  %-28s %s\n", left, o->help);
	}
}

int opts_parse(int argc, char **argv, const struct wg_opt *opts, const char **positional, int max_pos,
	       int *npos, const char *usage)
{
	*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			opts_usage(usage, opts, stdout);
			return 1;
		}
		if (strncmp(a, "--", 2) != 0) {
			if (*npos >= max_pos) {
				fprintf(stderr, "wangge: 多余的参数 / unexpected argument: %s\n", a);
				opts_usage(usage, opts, stderr);
				return 2;
			}
			positional[(*npos)++] = a;
			continue;
		}
		const struct wg_opt *o = opts;
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		while (o && o->name && !(strlen(o->name) == len && strncmp(o->name, a, len) == 0))
			o++;
		if (!o || !o->name) {
			fprintf(stderr, "wangge: 未知选项 / unknown option: %.*s\n", (int)len, a);
			opts_usage(usage, opts, stderr);
			return 2;
		}
		if (!o->arg) {
			if (eq) {
				fprintf(stderr, "wangge: 选项 %s 不带参数 / %s takes no value\n", o->name, o->name);
				return 2;
			}
			*o->flag = true;
			continue;
		}
		if (eq) {
			*o->value = eq + 1;
		} else if (i + 1 < argc) {
			*o->value = argv[++i];
		} else {
			fprintf(stderr, "wangge: 选项 %s 缺少参数 %s / %s needs a value (%s)\n", o->name, o->arg, o->name, o->arg);
			opts_usage(usage, opts, stderr);
			return 2;
		}
	}
	return 0;
}
