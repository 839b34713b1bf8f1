/* One COPY a table (PostgreSQL batches, store_pg_batch.c): rows that give
 * different columns of one table ("persons (id, name, tags)" and
 * "persons (id, name)") are written into one COPY of every column, a
 * column a row leaves out written as what its default would have put
 * there. Each COPY but a batch's last waits for the server's answer, so
 * two shapes of a row cost a chunk of an import one wait more (a
 * 200,000-row import took 4 % longer, bench/RESULTS.md). A column whose default is
 * not a constant (a sequence, a clock) cannot be left out: a row without
 * it keeps its own COPY, as before. */
#include "core/store/store_impl.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <stdbool.h>
#include <string.h>

#define COPY_LAYOUTS 16
#define COPY_SHAPES  32
#define COPY_COLUMNS 64

struct copy_layout {
	char *table;
	char *target;                    /* "table (every column)" */
	size_t ncol;
	char *name[COPY_COLUMNS];
	char *fill[COPY_COLUMNS];        /* the default's text; NULL: \N */
	bool fixed[COPY_COLUMNS];        /* a row may leave it out */
};

struct copy_shape {
	char *target;                    /* as the rows give it */
	const struct copy_layout *layout; /* NULL: a COPY of its own */
	int from[COPY_COLUMNS];          /* for each layout column, the row's value there, or -1 */
};

struct copy_cache {
	struct copy_layout layout[COPY_LAYOUTS];
	size_t nlayouts;
	struct copy_shape shape[COPY_SHAPES];
	size_t nshapes;
};

/* COPY's text format: \N is NULL; backslash, tab, newline and carriage return escaped. */
static void copy_text(wg_buf *b, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		char e = s[i] == '\\' ? '\\' : s[i] == '\t' ? 't' : s[i] == '\n' ? 'n' : s[i] == '\r' ? 'r' : 0;
		if (!e)
			continue;
		wg_buf_append(b, s + run, i - run);
		wg_buf_putc(b, '\\');
		wg_buf_putc(b, e);
		run = i + 1;
	}
	wg_buf_append(b, s + run, n - run);
}

static void copy_value(wg_buf *b, const wg_param *p)
{
	char digits[WG_I64_DIGITS];
	switch (p->type) {
	case WG_P_NULL:
		wg_buf_append(b, "\\N", 2);
		break;
	case WG_P_INT:
		wg_buf_append(b, digits, wg_format_i64(digits, p->i));
		break;
	default:
		copy_text(b, p->s, p->n);
		break;
	}
}

static void layout_free(struct copy_layout *l)
{
	wg_free(l->table);
	wg_free(l->target);
	for (size_t j = 0; j < COPY_COLUMNS; j++) {
		wg_free(l->name[j]);
		wg_free(l->fill[j]);
	}
	memset(l, 0, sizeof *l);
}

void store_copy_release(wg_conn *c)
{
	struct copy_cache *k = c->copies;
	if (!k)
		return;
	for (size_t i = 0; i < k->nlayouts; i++)
		layout_free(&k->layout[i]);
	for (size_t i = 0; i < k->nshapes; i++)
		wg_free(k->shape[i].target);
	wg_free(k);
	c->copies = NULL;
}

/* A default as COPY text: 'text'::type (quotes doubled inside), a number,
 * true or false. *fill is NULL for no default; false for anything else. */
static bool constant_default(const char *expr, bool has, char **fill)
{
	*fill = NULL;
	if (!has)
		return true;
	size_t n = strlen(expr);
	if (expr[0] == '\'') {
		char *out = wg_malloc(n + 1);
		size_t o = 0, i = 1;
		if (!out)
			return false;
		for (; i < n; i++) {
			if (expr[i] == '\'' && expr[i + 1] == '\'')
				out[o++] = expr[i++];
			else if (expr[i] == '\'')
				break;
			else
				out[o++] = expr[i];
		}
		out[o] = '\0';
		/* Only the literal, perhaps cast: "'x'::text", never "'x'::text || now()". */
		const char *rest = expr + i + 1;
		bool cast_only = i < n && (!*rest || (rest[0] == ':' && rest[1] == ':' && !strpbrk(rest + 2, "()|+-*/,' ")));
		if (!cast_only) {
			wg_free(out);
			return false;
		}
		*fill = out;
		return true;
	}
	bool number = n > 0 && strspn(expr, "0123456789") == n;
	bool boolean = strcmp(expr, "true") == 0 || strcmp(expr, "false") == 0;
	if (!number && !boolean)
		return false;
	*fill = wg_strdup(expr);
	return *fill != NULL;
}

int store_copy_column(struct copy_layout *l, const char *name, const char *def, bool has_default)
{
	if (l->ncol == COPY_COLUMNS)
		return WG_ERR_TOO_LARGE;
	size_t j = l->ncol++;
	l->fixed[j] = constant_default(def, has_default, &l->fill[j]);
	return (l->name[j] = wg_strdup(name)) ? 0 : WG_ERR_NOMEM;
}

/* The table's columns and defaults (READ asks the catalog), once per connection. */
static int read_layout(wg_conn *c, const char *table, copy_columns_fn read, struct copy_layout *l)
{
	int rc = read(c, table, l);
	if (rc && rc != WG_ERR_TOO_LARGE && rc != WG_ERR_NOMEM)
		return rc;
	wg_buf t = WG_BUF_INIT(WG_MAX_SQL);
	wg_buf_printf(&t, "%s (", table);
	for (size_t j = 0; j < l->ncol; j++)
		wg_buf_printf(&t, j ? ", %s" : "%s", l->name[j] ? l->name[j] : "");
	wg_buf_puts(&t, ")");
	l->table = wg_strdup(table);
	l->target = t.err ? NULL : wg_buf_detach(&t, NULL);
	wg_buf_release(&t);
	if (!rc && l->table && l->target)
		return 0;
	/* Kept as unusable, so that it is asked once: rows of the table keep their own COPYs. */
	char *keep = l->table;
	l->table = NULL;
	layout_free(l);
	l->table = keep;
	return 0;
}

static const struct copy_layout *layout_of(wg_conn *c, struct copy_cache *k, const char *table, size_t len,
					   copy_columns_fn read, int *rc)
{
	for (size_t i = 0; i < k->nlayouts; i++)
		if (strlen(k->layout[i].table) == len && memcmp(k->layout[i].table, table, len) == 0)
			return k->layout[i].ncol ? &k->layout[i] : NULL;
	if (k->nlayouts == COPY_LAYOUTS || len >= 64)
		return NULL;
	char name[64];
	memcpy(name, table, len);
	name[len] = '\0';
	struct copy_layout *l = &k->layout[k->nlayouts];
	*rc = read_layout(c, name, read, l);
	if (*rc || !l->table) {
		layout_free(l);
		return NULL;
	}
	k->nlayouts++;
	return l->ncol ? l : NULL;
}

/* Places the target's columns ("table (a, b, c)") in the table's layout;
 * false when one is not there or a column left out has no constant default. */
static bool place(const struct copy_layout *l, const char *columns, int from[COPY_COLUMNS])
{
	bool given[COPY_COLUMNS] = { false };
	int k = 0;
	for (size_t j = 0; j < l->ncol; j++)
		from[j] = -1;
	for (const char *p = columns; *p && *p != ')'; k++) {
		size_t n = strcspn(p, ",)");
		size_t j = 0;
		while (j < l->ncol && !(strlen(l->name[j]) == n && memcmp(l->name[j], p, n) == 0))
			j++;
		if (j == l->ncol || given[j])
			return false;
		given[j] = true;
		from[j] = k;
		p += n;
		p += *p == ',' ? strspn(p + 1, " ") + 1 : 0;
	}
	for (size_t j = 0; j < l->ncol; j++)
		if (!given[j] && !l->fixed[j])
			return false;
	return true;
}

const struct copy_shape *store_copy_shape(wg_conn *c, const char *target, copy_columns_fn read, int *rc)
{
	*rc = 0;
	struct copy_cache *k = c->copies;
	if (!k && !(k = c->copies = wg_calloc(1, sizeof *k)))
		return NULL;
	for (size_t i = 0; i < k->nshapes; i++)
		if (strcmp(k->shape[i].target, target) == 0)
			return &k->shape[i];
	if (k->nshapes == COPY_SHAPES)
		return NULL;
	const char *open = strstr(target, " (");
	if (!open)
		return NULL;
	const struct copy_layout *l = layout_of(c, k, target, (size_t)(open - target), read, rc);
	if (*rc)
		return NULL;
	struct copy_shape *sh = &k->shape[k->nshapes];
	if (!(sh->target = wg_strdup(target)))
		return NULL;
	sh->layout = l && place(l, open + 2, sh->from) ? l : NULL;
	k->nshapes++;
	return sh;
}

const char *store_copy_target(const struct copy_shape *sh) { return sh->layout ? sh->layout->target : sh->target; }

/* The row as a line of its COPY, without the newline: in its table's
 * layout when its shape was placed there, else its N values as given. */
void store_copy_line(const struct copy_shape *sh, const wg_param *p, size_t n, wg_buf *line)
{
	const struct copy_layout *l = sh ? sh->layout : NULL;
	size_t cols = l ? l->ncol : n;
	for (size_t j = 0; j < cols; j++) {
		if (j)
			wg_buf_putc(line, '\t');
		if (!l)
			copy_value(line, &p[j]);
		else if (sh->from[j] >= 0)
			copy_value(line, &p[sh->from[j]]);
		else if (l->fill[j])
			copy_text(line, l->fill[j], strlen(l->fill[j]));
		else
			wg_buf_append(line, "\\N", 2);
	}
}
