/* The generic resource layer: a resource is declared once (its fields, their
 * types and rules, which field hangs it on the grid) and this layer serves
 * list / get / create / update / delete / export for it, with validation,
 * scope checks, optimistic versions and audit. A domain file declares the
 * resource and adds hooks only for what is special about it.
 *
 * Every table served here has the columns id, version, created_at,
 * updated_at, the declared fields, and the path column named by
 * `path_column` (the materialized grid path used for scope). Items carry
 * created_at and updated_at with their local-time twins (created_at_text,
 * updated_at_text), as every FT_TIME field does.
 */
#ifndef WG_RESOURCE_H
#define WG_RESOURCE_H

#include "core/lib/crypt.h"
#include "core/http/http.h"
#include "core/lib/limits.h"

#include <jansson.h>

/* FT_TAGS: a set of words from `values` (free words when values is NULL);
 * JSON array in the API, stored as ",a,b,", filtered with ?<name>=word. */
/* FT_TIME: a moment, stored as Unix seconds; accepted as seconds, ISO 8601
 * (with an offset, or local) or a date alone (local midnight); answered as
 * the seconds and a twin in local ISO 8601 (core/lib/timefmt.h), exported
 * as local time ("2026-12-06 08:00"). min/max bound the seconds. */
enum wg_field_type { FT_TEXT, FT_INT, FT_ENUM, FT_REF, FT_BOOL, FT_DATE, FT_TAGS, FT_TIME };

/* Field flags:
 *   FF_REQUIRED     must be given on create
 *   FF_READONLY     set by the server only; a client sending it gets 422
 *   FF_CREATE_ONLY  may be given on create, never changed by PATCH
 *   FF_FILTER       ?<name>=<value> filters lists by equality
 *   FF_SEARCH       ?q=<prefix> matches the start of this field
 *   FF_NULLABLE     null is an accepted value
 *   FF_SCOPE        a grid node id: the record hangs on that node (scope)
 *   FF_IMPORT_OPTIONAL  required, but an import may supply it from another
 *                   column (the hooks.import_row turns that column into it)
 *   FF_SECRET       personal data: stored only encrypted (<name>_enc) with a
 *                   blind index (<name>_bidx) for exact filters; masked in
 *                   every answer unless the caller holds the resource's
 *                   reveal right and asks ?reveal=1 (audited as "reveal")
 *   FF_UNIQUE       no two records share the value: 409 naming the one
 *                   that has it (when the caller may see it)
 *   FF_EXTENSIBLE   FT_ENUM / FT_TAGS: the administrator may add values to
 *                   the declared ones (字典管理, dict_entries); they are
 *                   accepted by value or label like the declared ones
 */
#define FF_REQUIRED    (1u << 0)
#define FF_READONLY    (1u << 1)
#define FF_CREATE_ONLY (1u << 2)
#define FF_FILTER      (1u << 3)
#define FF_SEARCH      (1u << 4)
#define FF_NULLABLE    (1u << 5)
#define FF_SCOPE       (1u << 6)
#define FF_IMPORT_OPTIONAL (1u << 7)
#define FF_SECRET      (1u << 8)
#define FF_UNIQUE      (1u << 9)
#define FF_EXTENSIBLE  (1u << 10)

struct wg_field {
	const char *name;              /* JSON key and column name */
	enum wg_field_type type;
	unsigned flags;
	int64_t min, max;              /* FT_INT: value range; FT_TEXT: length in characters */
	const char *const *values;     /* FT_ENUM: NULL-terminated list */
	const char *zh;                /* label for messages and export headers */
	const char *const *labels;     /* FT_ENUM: zh-CN label of each value (import accepts either, export writes these) */
	/* Text fields: turns what people type into the one stored form, or says
	 * why it cannot (zh, en); the value is replaced by the canonical form. */
	int (*canon)(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en);
	/* FF_SECRET: how the value is shown to those who may not see it whole. */
	void (*mask)(const char *in, char *out, size_t size);
};

struct wg_resource;

struct wg_resource_hooks {
	/* Path under which a new record will hang; default: the FF_SCOPE field's node path. */
	int (*scope_of_new)(wg_req *r, const struct wg_resource *res, json_t *body, char *path, size_t size);
	/* After the INSERT, in the same transaction: set the record's own path etc. */
	int (*after_insert)(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body, const char *parent_path);
	/* After an UPDATE (PATCH), in the same transaction: keep other records consistent. */
	int (*after_update)(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body);
	/* Extra checks on a validated body before create (id 0) or update. */
	int (*check)(wg_req *r, const struct wg_resource *res, int64_t id, json_t *body);
	/* Adds derived members to an item about to be returned. */
	int (*decorate)(wg_req *r, const struct wg_resource *res, json_t *item);
	/* Refuses or prepares a delete. */
	int (*before_delete)(wg_req *r, const struct wg_resource *res, int64_t id, const char *path);
	/* Import: turns the extra columns of a row into fields (e.g. a parent's code into parent_id). */
	int (*import_row)(wg_req *r, const struct wg_resource *res, json_t *row);
	/* Import, after import_row: the record this row is about, by the
	 * resource's own rule (a person by ID number, or by name, birth date and
	 * household); *id 0 when none, *field the column that matched. A match
	 * that cannot be settled (two candidates) fails the row naming the field. */
	int (*import_match)(wg_req *r, const struct wg_resource *res, json_t *row, int64_t *id, const char **field);
	/* Import, batching (PostgreSQL): the rows of a chunk as read, before any
	 * of them is imported. The hook may look up at once what the rows will
	 * ask for and remember it in the import memo (a roster's grids and
	 * their households), so the chunk's rows need no query of their own and
	 * its writes go in one batch. It changes nothing: a lookup it could not
	 * make, the row makes itself and fails as it would have. */
	void (*import_prefetch)(wg_req *r, const struct wg_resource *res, json_t *const *rows, size_t n);
};

struct sheet_column_spec;

/* A member of every item computed in the same statement as the record: a
 * scalar subquery per dialect that yields JSON text (a node's leaders). It
 * names the outer row by the resource's table name, e.g. grid_nodes.id. */
struct wg_json_member {
	const char *name;
	const char *sqlite, *postgres;
};

/* An exported column beyond the stored fields: its header and a scalar
 * subquery per dialect over the resource's row (named by its table), such
 * as the name of the record's grid. Import skips these columns. */
struct wg_export_column {
	const char *zh;
	const char *sqlite, *postgres;
};

struct wg_resource {
	const char *name;              /* URL segment: "grids" */
	const char *table;
	const char *zh, *en;
	const struct wg_field *fields;
	size_t nfields;
	const char *path_column;       /* "path" or "node_path" */
	const struct wg_right *read_right, *write_right;
	const struct wg_right *reveal_right;  /* needed for ?reveal=1 on FF_SECRET fields */
	bool audit_reads;              /* every read is audited, one record each (personal data) */
	bool count_reads;              /* reads are counted per user and minute (audit_count: not personal data) */
	/* A single item's answer is kept in memory while the store vouches that
	 * nothing it reads has changed (store_changes: PostgreSQL, with the
	 * schema's triggers on every table the item's SELECT reads). Only for a
	 * resource whose answer is the same for every reader: no FF_SECRET
	 * field, no decorate hook. */
	bool cache_reads;
	struct wg_resource_hooks hooks;
	/* Import: columns beyond the fields (read into the row under their key),
	 * and the field whose value finds an existing record to update. */
	const struct sheet_column_spec *import_extra;
	size_t nimport_extra;
	const char *import_key;
	/* A row prepared ahead keeps its import columns that are no field (a
	 * grid code, an address; not an export's 编号) beside its object, not
	 * among its members: the import_row hook reads them with import_column()
	 * and drops them with import_column_drop(), and a row's object no longer
	 * gains and loses them row after row. Only for a resource whose hooks
	 * drop every such column, so that no member is left for the checks to
	 * call unknown. */
	bool import_aside;
	/* Query parameters an import of this resource takes besides the
	 * import's own (NULL-terminated; read by its import_row hook), e.g. a
	 * category for every row of a city's list. */
	const char *const *import_query;
	/* A big import (SQLite) drops the table's non-unique indexes and builds
	 * them again at the end, by sorting; only for tables the import's own
	 * lookups do not search through those indexes. */
	bool import_defer_indexes;
	const struct wg_json_member *json_members;
	size_t njson_members;
	const struct wg_export_column *export_columns;
	size_t nexport_columns;
	/* Filled by resource_register(): the stored columns (exports), the
	 * columns of an item as the API shows it (stored columns, then the JSON
	 * members; one per dialect), and the statement that loads one item by id. */
	char *select_columns;
	char *item_columns[2];
	char *select_by_id[2];
};

/* Adds list, get, create, patch, delete, import and export routes for res
 * (a module's declare hook calls it). */
int resource_register(struct wg_resource *res);
/* The declared resource named name ("persons"), NULL if none. */
const struct wg_resource *resource_named(const char *name);
/* The import and export handlers (resource_io.c). */
int resource_handle_export(wg_req *r);
int resource_handle_import(wg_req *r);
/* Answers ?format=csv|xlsx (default csv) with what write() puts in the sheet. */
struct sheet_writer;
int resource_export_reply(wg_req *r, const char *name, const char *sheet_name,
			  int (*write)(wg_req *r, struct sheet_writer *w, void *ctx), void *ctx);

/* An import in progress: the records it created, in ascending id order
 * with the file row of each (so a duplicate inside the file names the row
 * it repeats), what hooks created along the way (for the import's one audit
 * record), and remembered lookups (grid codes, node paths, addresses: a
 * roster names the same few thousand again and again). The memo is
 * forgotten whenever a row is rolled back, since it may name what that row
 * created, and when it fills up. Outside an import these find nothing and
 * remember nothing. A memo slot is any static string of the caller's
 * ("household"), so a module adds its lookups without touching the platform. */
bool     import_in_progress(const wg_req *r);
/* Whether the import updates the records its rows find (?update=1). */
bool     import_updating(const wg_req *r);
/* The file row that created record id in this import, 0 if none did. */
uint32_t import_row_of(const wg_req *r, int64_t id);
bool     import_memo_get(wg_req *r, const char *slot, const char *key, int64_t *value, const char **text);
void     import_memo_set(wg_req *r, const char *slot, const char *key, int64_t value, const char *text);
void     import_memo_forget(wg_req *r);
/* A hook created a record of another resource; counted instead of audited one by one. */
void     import_count_extra(wg_req *r, const char *resource);
/* Marks the row being imported for the resource's own hooks later on the
 * same row (the import_row hook saw that this person heads the household,
 * after_insert acts on it); cleared before each row. */
void     import_mark_row(wg_req *r);
bool     import_row_is_marked(const wg_req *r);
/* Whether the import's reading thread found v, as the value of the field
 * named so, valid, and made it canonical (a hook need not check it again). */
bool     import_value_checked(const wg_req *r, const struct wg_resource *res, const char *field, const json_t *v);
/* An import column that is no field, as the row gives it: kept beside the
 * row's object (import_aside) or its member; NULL when the row has none.
 * Dropped from the row when the hook has used it. */
json_t  *import_column(const wg_req *r, json_t *row, const char *key);
void     import_column_drop(const wg_req *r, json_t *row, const char *key);

/* On PostgreSQL an import sends its rows in chunks, each a batch of writes
 * (core/store/store.h): a record a row creates goes with the chunk's COPY,
 * its id taken ahead from the table's sequence. A hook that writes asks
 * whether the import is batching, and if so writes through these; when a
 * chunk fails at the database (a duplicate, say), it is rolled back and
 * done again row by row, the way every row is done on SQLite, which says
 * exactly which row failed and why. A read flushes the batch first, so a
 * hook still reads what the rows before it wrote. */
bool     import_batching(const wg_req *r);
/* A new record of table, columns "a, b, c" (without id) and their values:
 * its id now, the row with the batch. Only while batching. */
int      import_batch_insert(wg_req *r, const char *table, const char *columns, const wg_param *p, size_t n,
			     int64_t *id);
/* A write nobody reads the rows of, which may act on rows the batch inserts
 * (it is sent after them): with the batch while batching, at once otherwise. */
int      import_run_after(wg_req *r, const char *sql, const wg_param *p, size_t n);

/* A list query under construction: the WHERE clause (scope, ?grid=, field
 * filters, ?q=) and its parameters. */
#define WG_RESOURCE_MAX_FILTERS 16
struct resource_query {
	wg_buf where;
	wg_param params[WG_RESOURCE_MAX_FILTERS + 8];
	size_t n;
	char lo[WG_MAX_GRID_PATH + 2], hi[WG_MAX_GRID_PATH + 2];
	char like[WG_MAX_STRING_FIELD * 2 + 2];
};

/* Building blocks for domain handlers and the import/export layer. */
int  resource_build_where(wg_req *r, const struct wg_resource *res, struct resource_query *q);
int  resource_scope_of_new(wg_req *r, const struct wg_resource *res, json_t *body, char *path, size_t size);
int  resource_insert(wg_req *r, const struct wg_resource *res, json_t *body, const char *path, int64_t *id);
/* Updates the fields in body (and the path when new_path); 412 when version is stale. */
int  resource_update(wg_req *r, const struct wg_resource *res, int64_t id, int64_t version, const char *new_path,
		     json_t *body);
int  resource_validate(wg_req *r, const struct wg_resource *res, json_t *body, bool create);
/* Loads one record in the caller's scope; 404 when absent or out of scope. path receives its path. */
int  resource_load(wg_req *r, const struct wg_resource *res, int64_t id, json_t **item, char *path, size_t size);
/* The columns of an item (stored fields and JSON members) in c's dialect. */
const char *resource_item_columns(const struct wg_resource *res, const wg_conn *c);
/* The record at the statement's current row; secret fields decrypted and,
 * unless r->reveal, masked; JSON members follow the stored columns when the
 * statement selected resource_item_columns(). */
json_t *resource_row_json(wg_req *r, const struct wg_resource *res, wg_stmt *s);
/* Every value list (FT_ENUM, FT_TAGS) of the declared resources with its
 * labels: [{resource, resource_zh, field, field_zh, kind, extensible,
 * values:[{value, label, label_en, builtin, enabled, id, version}]}], the
 * declared values first, then those added on 字典管理 (when r has a
 * connection). NULL with r->fail set on failure. */
json_t *resource_dictionaries(wg_req *r);
/* A value added to an FF_EXTENSIBLE field, found by its value or its label:
 * 1 with the stored value in out, 0 when there is none (or r has no
 * connection: the import's reading thread leaves the value to the import),
 * -1 with r->fail set on a store error. Disabled values are still accepted:
 * records that hold one stay editable; pages no longer offer it. */
#define WG_DICT_VALUE_BYTES 96
int resource_dict_match(wg_req *r, const struct wg_resource *res, const struct wg_field *f, const char *s, char *out,
			size_t size);
/* The labels of the values added to res's fields, for an export to write
 * what people read: {field: {value: label}}; NULL with r->fail set on failure. */
json_t *resource_dict_labels(wg_req *r, const struct wg_resource *res);
/* How many records of res hold value in field f (an added value about to be deleted). */
int resource_dict_uses(wg_req *r, const struct wg_resource *res, const struct wg_field *f, const char *value,
		       int64_t *n);
/* One FF_SECRET value as stored (<name>_enc): decrypted and, unless r->reveal, masked. */
json_t *resource_secret_json(wg_req *r, const struct wg_field *f, const char *text, size_t n);
/* ?reveal=1: checks the right (403) and sets r->reveal. */
int  resource_want_reveal(wg_req *r, const struct wg_resource *res);
/* The path of a grid node inside the caller's scope (404 otherwise). */
int  resource_node_path(wg_req *r, int64_t node_id, const char *field, char *path, size_t size);
/* PostgreSQL, an import's chunk: the paths of these nodes, as
 * resource_node_path() finds (and locks) them, in three queries for all of
 * them; each found in the caller's scope is remembered for the import, the
 * others are left to resource_node_path(). Fails only when the store does. */
int  resource_node_paths(wg_req *r, const int64_t *ids, size_t n);
const struct wg_field *resource_field(const struct wg_resource *res, const char *name);
/* Moves every record of every registered resource, and of every table
 * added by resource_add_path_column, from below old_path to below new_path. */
int  resource_rewrite_paths(wg_conn *c, const char *old_path, const char *new_path);
/* A table that is not a resource but whose rows are scoped by a node path
 * column (static strings), so that subtree moves carry it along. */
int  resource_add_path_column(const char *table, const char *column);
void resource_release_all(void);
/* Re-encrypts every secret of every registered resource with the current key. */
struct wg_keys;
int  resource_reencrypt_all(wg_conn *c, const struct wg_keys *k, int64_t *count);
/* A secret column (<column>_enc, keyed as <column>) of a table that is not a
 * declared resource, re-encrypted by resource_reencrypt_all too. */
int  resource_add_secret_column(const char *table, const char *column);

#endif
