/* Between the files of the resource layer only. */
#ifndef WG_RESOURCE_INT_H
#define WG_RESOURCE_INT_H

#include "core/resource/resource.h"

#include <stdbool.h>
#include <stdint.h>

/* An import's rows are read, checked and their secrets sealed on a
 * reading thread (resource_ahead.c). What it leaves for the import is one
 * flat block per row (struct wg_row_flat): each member of the row's object
 * in its canonical form, whether it passed the checks that need no
 * database, and each secret's ciphertext and blind index. The import's
 * thread makes the row's object from the block (resource_row_from_flat):
 * a block read in order costs it a fraction of walking, and freeing, an
 * object another core built. The row's checked values and sealed secrets
 * are then noted by field and value (struct wg_row_ahead), each held by a
 * reference, so none is freed and its address reused while the row is
 * imported: the import skips the work for exactly these values, whatever
 * a hook replaced since. */
#define WG_AHEAD_VALUES 32
#define WG_AHEAD_SECRETS 4
#define WG_AHEAD_SEALED 192   /* "k<version>:" + base64 of nonce, text and tag */
#define WG_FLAT_MEMBERS 48
#define WG_FLAT_TEXT 4096     /* keys and texts; a wider row is made by the import itself */
enum wg_flat_kind { FLAT_NULL, FLAT_TRUE, FLAT_FALSE, FLAT_INT, FLAT_TEXT, FLAT_TAGS };
struct wg_row_flat {
	struct wg_fail fail;      /* code set: a cell could not be read, the row fails with this */
	size_t n, nsealed, used;
	struct wg_flat_member {
		const struct wg_field *field;  /* NULL: not a field (an import column, an export's 编号) */
		int64_t integer;               /* FLAT_INT */
		uint32_t key, key_len;         /* in text */
		uint32_t at, len;              /* FLAT_TEXT: in text; FLAT_TAGS: the entries, each ended by NUL */
		uint8_t kind;                  /* enum wg_flat_kind */
		bool checked;
		bool aside;                    /* an import column kept beside the row's object (import_aside) */
		int8_t sealed;                 /* in sealed, -1: none */
	} member[WG_FLAT_MEMBERS];
	struct { char enc[WG_AHEAD_SEALED], bidx[WG_BLIND_HEX]; size_t enc_len; } sealed[WG_AHEAD_SECRETS];
	char text[WG_FLAT_TEXT];
};
/* The import's thread's note of a row's checked values and sealed
 * secrets (enc and bidx in the row's block, which outlives the row's import). */
struct wg_row_ahead {
	size_t nchecked, nsealed;
	/* Every member resource_validate_given checks was checked ahead (and
	 * noted): the row's object as made from its block needs no such pass. */
	bool given_checked;
	json_t *aside;            /* the row's import columns kept beside its object, NULL: among its members */
	/* by field and value: true, false and null are one object each, wherever they stand */
	struct { const struct wg_field *field; json_t *value; } checked[WG_AHEAD_VALUES];
	/* bidx: WG_BLIND_HEX - 1 characters */
	struct { const struct wg_field *field; json_t *value; const char *enc, *bidx; size_t enc_len; } sealed[WG_AHEAD_SECRETS];
};
/* On the reading thread: checks each settable member of row (made
 * canonical in it), seals its secrets, and flattens the row into a new
 * block; NULL when out of memory or when the row does not fit a block
 * (the import then makes and checks it itself). scratch takes the
 * failures and must hold .app. */
struct wg_row_flat *resource_prepare_row(wg_req *scratch, const struct wg_resource *res, json_t *row);
/* On the import's thread: the row's object made from its block, its
 * checked values and secrets noted in ahead (released with
 * resource_row_ahead_release); NULL when out of memory. With reuse (an
 * object only the caller holds, which it hands over: the last row's, as
 * its hooks left it), the object is that one made over: a member with the
 * key the block has at the same place stays where it is, a text or an
 * integer only the object holds takes the new value in place, and the
 * members from the first that differs on are dropped and the block's
 * added. Its members are then the block's, in the block's order, as in a
 * new object, at a fraction of the allocations: rows of a file mostly
 * repeat the last one's keys. With aside (an object kept for the import,
 * made over the same way), the members the block keeps aside go there and
 * ahead->aside names it. */
json_t *resource_row_from_flat(const struct wg_row_flat *flat, struct wg_row_ahead *ahead, json_t *reuse, json_t *aside);
/* An object made over for the next row, its members put in order: key's
 * value v (taken) in place of the member at *it when that one has the key
 * (*it moves past it), else at the end, the members from *it on dropped
 * first; 0, or -1 when out of memory (v let go). What the row did not give
 * is dropped at the end with resource_object_drop_from(o, *it). The keys
 * must be valid UTF-8 (they are the columns' or the block's). */
int  resource_object_put(json_t *o, void **it, const char *key, size_t key_len, json_t *v);
void resource_object_drop_from(json_t *o, void *it);
/* Fetches into this core's cache what resource_row_from_flat will read of
 * the block (the reading thread wrote it on the other core). */
void resource_row_warm(const struct wg_row_flat *flat);
void resource_row_ahead_release(struct wg_row_ahead *ahead);
/* The values of the fields body gives, each checked as resource_validate
 * checks it (made canonical), but not whether it may be set nor what is
 * missing: an import checks them before its hooks write anything (a
 * person's household), so that a row refused for a bad value has nothing
 * to undo. A savepoint rolled back in a big SQLite transaction costs in
 * proportion to the transaction. */
int resource_validate_given(wg_req *r, const struct wg_resource *res, json_t *body);
/* Checks v, row's member key, as f's value (made canonical in row): 0 or the failure. */
int resource_validate_value(wg_req *r, const struct wg_resource *res, const struct wg_field *f, json_t *row, const char *key,
			    json_t *v);

/* An import in progress (r->import): what the import remembers
 * (resource_memo.c), the row being imported as prepared ahead, and the
 * INSERT texts it built. */
#define WG_INSERT_FIELDS 31   /* 4 + 2 × 31 parameters at most */
#define WG_INSERT_SHAPES 8
#define WG_IMPORT_MEMO_RECENT 8  /* memo entries last found, one per slot: a family's rows ask again at once */
struct wg_import_memo;
struct import_unique;
struct wg_import {
	int64_t *ids;
	uint32_t *rows;
	size_t n, cap;
	const char *extra_name;       /* resource the hooks created records of */
	int64_t extra_created;
	struct wg_import_memo *memo;  /* WG_IMPORT_MEMO_SIZE entries, made on first use */
	size_t memo_used;
	unsigned memo_forgotten;      /* times the memo was emptied */
	struct wg_import_memo *recent[WG_IMPORT_MEMO_RECENT];  /* found last, by slot (NULL: none) */
	size_t recent_next;           /* the entry a new slot takes */
	bool row_marked;              /* import_mark_row; cleared before each row */
	bool row_wrote;               /* the last row imported wrote something (or the store cannot say) */
	struct import_unique *unique; /* a unique index dropped for the import: its values (resource_unique.c) */
	bool updating;                /* ?update=1 */
	const struct wg_row_ahead *ahead;  /* the current row's, NULL if it was not prepared ahead */
	size_t ahead_next;            /* where in ahead->checked the next lookup starts (the row's order) */
	json_t *spare_row;            /* the last row's object, only the import holding it: made over for the next */
	json_t *aside;                /* the row's import columns kept beside its object (import_aside) */
	/* The INSERTs last built, by the fields a row gives and their order
	 * (a file's rows mostly repeat a few: with or without tags, phone …):
	 * building the text once per shape saves a tenth of a row's work. */
	struct {
		const struct wg_resource *res;
		const struct wg_field *field[WG_INSERT_FIELDS];
		size_t n;
		char *sql;
		char *columns;        /* the same columns, as a batch's COPY names them */
	} insert[WG_INSERT_SHAPES];
	size_t insert_next;           /* the entry the next new shape replaces */
	/* Batching (PostgreSQL, resource_batch.c): ids taken ahead per table,
	 * and the COPY target ("table (id, columns)") of each table and columns. */
	wg_arena row_arena;           /* r->arena while a row is imported, cleared after each */
	bool batching;
	/* Where the row is: 0 before its record is inserted, 1 inserting it, 2
	 * after; a batch COPYs by stage, so what hooks insert first (a person's
	 * household) goes before the records that refer to it. */
	unsigned stage;
	struct import_ids {
		const char *table;
		int64_t *ids;         /* WG_IMPORT_ID_BATCH, ascending */
		size_t n, next;
	} idpool[WG_IMPORT_ID_TABLES];
	struct {
		char *table, *columns;
		char *target;
	} target[WG_BATCH_TARGETS];
	size_t target_next;
};

/* The row being imported as its reading thread prepared it, or NULL. */
static inline const struct wg_row_ahead *import_ahead(const wg_req *r)
{
	return r->import ? r->import->ahead : NULL;
}

int  import_remember(struct wg_import *im, int64_t id, uint32_t row);
void import_release(wg_req *r, struct wg_import *im);
/* Forgets the ids taken ahead: a chunk done again row by row took ids from
 * the sequences that are larger, and the import's ids must keep ascending. */
void import_ids_forget(struct wg_import *im);
void import_batch_release(struct wg_import *im);
/* Before a chunk: at least n ids at hand in each table's pool in use, so its
 * rows take theirs without a query in the middle of the batch. */
int  import_ids_reserve(wg_req *r, size_t n);
/* Before a chunk's lookups: the memo emptied now if n more entries would
 * fill it, rather than in the middle of the chunk's rows. */
void import_memo_reserve(wg_req *r, size_t n);
/* Whether n more entries would fill the memo (import_memo_reserve would empty it). */
bool import_memo_full(const wg_req *r, size_t n);

/* A unique index dropped for a big import that only adds records: its
 * values in memory instead (resource_unique.c). begin loads the values the
 * table holds (expected: about how many there will be); holder finds the
 * record holding a stored value (0: none); stored notes the value a row
 * stored; a row undone takes its value back out. */
int  import_unique_begin(wg_req *r, const struct wg_resource *res, const struct wg_field *f, int64_t expected);
void import_unique_end(struct wg_import *im);
/* The field of res whose unique index the import dropped, NULL if none. */
const struct wg_field *import_unique_field(const wg_req *r, const struct wg_resource *res);
int  import_unique_holder(wg_req *r, const char *value, size_t n, int64_t *other);
/* The row's value (as stored) is about to be asked for: its slot is
 * fetched into the cache meanwhile (a million values' slots are far
 * apart) and its hash kept for the asking. */
void import_unique_prefetch(struct wg_import *im, const char *value, size_t n);
/* With the unique index dropped: a row whose value of that field another
 * record holds is refused before it writes anything (its household, say),
 * as the insert would refuse it; a savepoint rolled back in a big SQLite
 * transaction costs in proportion to the transaction. Called after
 * resource_validate_given, which checked the value. 0 when it is not held
 * or no index was dropped. */
int  resource_unique_first(wg_req *r, const struct wg_resource *res, json_t *row);
int  import_unique_stored(wg_req *r, const char *value, size_t n, int64_t id);
void import_unique_row_begins(struct wg_import *im);
void import_unique_row_undone(struct wg_import *im);

/* An import's rows (resource_import_rows.c): the columns it reads (the
 * last two an export's 编号 and 路径), and each row's object, made by the
 * reading thread ahead (sheet_read_ahead with import_prepare_row,
 * import_release_row and import_warm_row: its object, the checks that need no database, the
 * secrets' encryption; what needs the database, and the order in which a
 * row's errors are found, stay with the import) or by import_take_row. */
struct sheet_column_spec;
struct sheet_header;
struct sheet_row;
struct import_ahead_ctx {
	wg_req scratch;           /* takes the reading thread's failures */
	const struct wg_resource *res;
	const struct sheet_header *h;
	const struct sheet_column_spec *specs;
	size_t nspecs;
	json_t *spare;            /* the last row's object, made over for the next (the reading thread's own) */
};
int     import_specs(const struct wg_resource *res, struct sheet_column_spec **specs, const char ***names, size_t *n);
void   *import_prepare_row(void *ctx, const struct sheet_row *row);
void    import_release_row(void *prepared);
void    import_warm_row(const void *prepared);
/* The row's object, made from its block prepared ahead (its checks noted
 * in ahead, to be released with resource_row_ahead_release) or made now
 * (ahead left empty); NULL (r->fail says why) when a cell is not its
 * field's type. A row imported alone (not kept for a chunk, whose lookups
 * read the rows' columns together) keeps its import columns aside when
 * its resource says so (import_aside). */
json_t *import_take_row(wg_req *r, const struct wg_resource *res, const struct sheet_row *row,
			const struct sheet_header *h, const struct sheet_column_spec *specs, size_t nspecs,
			struct wg_row_ahead *ahead, bool alone);
/* Done with a row's object (ahead released): kept to be made over for the
 * next row when nothing else holds it, else let go. */
void    import_drop_row(wg_req *r, json_t *o);

/* An import's running account (resource_import.c), and its rows: one by
 * one, or in chunks (resource_import_chunks.c). */
struct import_state {
	json_t *errors;
	json_t *rows;            /* what became of each row, the first WG_MAX_IMPORT_REPORT */
	int64_t inserted, updated, unchanged;
	bool partial, dry_run;
	bool update;             /* ?update=1: a row that finds its record updates it */
	bool from_export;        /* the file is this resource's export (编号 and 路径): 编号 names the record */
	uint32_t row;            /* the file row being imported */
};
void import_add_error(struct import_state *st, uint32_t row, const char *field, const char *zh, const char *en);
/* Imports a row (o; NULL when a cell could not be read, r->fail says why)
 * as every row is imported; true when it failed, its error recorded. */
bool import_row(wg_req *r, const struct wg_resource *res, struct import_state *st, json_t *o, uint32_t number,
		const struct wg_row_ahead *ahead, bool *out_of_memory);
/* A row on its own (?partial=1: under a savepoint of its own): 0, or the failure that ends the import. */
int  import_row_alone(wg_req *r, const struct wg_resource *res, struct import_state *st, json_t *o, uint32_t number,
		      const struct wg_row_ahead *ahead);
/* Every row of the file: 0 when all were read (each row's own failure is
 * in st), else the reader's failure; r->fail when the import must end. */
struct sheet_reader;
int  import_rows(wg_req *r, const struct wg_resource *res, struct import_state *st, struct sheet_reader *reader,
		 const struct sheet_header *h, const struct sheet_column_spec *specs, size_t nspecs, uint32_t *rows);

/* Handlers (resource_handlers.c, resource_import.c, resource_export.c). */
int  resource_handle_list(wg_req *r);
int  resource_handle_get(wg_req *r);
int  resource_handle_create(wg_req *r);
int  resource_handle_patch(wg_req *r);
int  resource_handle_delete(wg_req *r);

/* Rows (resource_row.c). */
/* What reading a record is called in the audit trail: "reveal" or "read". */
const char *resource_read_action(const wg_req *r, const struct wg_resource *res);
/* The item at the statement's current row written to out as
 * resource_row_json() and json_emit() would, without building the tree. */
int  resource_row_emit(wg_req *r, const struct wg_resource *res, wg_stmt *s, wg_buf *out);

/* Single items kept in memory (resource_cache.c): 1 and a copy of the
 * answer (*json, the caller's to free) when an entry for (res, id) was
 * kept at this number of changes, 0 when none, -1 out of memory. */
int  resource_cache_get(const struct wg_resource *res, int64_t id, uint64_t changes, char *path, size_t path_size,
			char **json, size_t *len);
void resource_cache_put(const struct wg_resource *res, int64_t id, uint64_t changes, const char *path,
			const char *json, size_t len);

/* What is declared (resource_register.c). */
enum resource_extra { EXTRA_SECRET, EXTRA_PATH };
size_t resource_count(void);
struct wg_resource *resource_at(size_t i);
/* The extra columns of a kind: their number, and (i < number) the i-th. */
size_t resource_extra_count(enum resource_extra kind);
void   resource_extra_at(enum resource_extra kind, size_t i, const char **table, const char **column);

#endif
