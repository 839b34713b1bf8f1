/* Every size the program accepts, named in one place.
 * Limits before authentication are tighter than after. */
#ifndef WG_LIMITS_H
#define WG_LIMITS_H

#define WG_MAX_BODY_ANON        (16u * 1024)          /* request body before sign-in */
#define WG_MAX_TOKEN            128u                  /* a session token as presented (ours are 43 characters) */
#define WG_MAX_BODY             (1u * 1024 * 1024)    /* JSON request body */
#define WG_MAX_UPLOAD           (256u * 1024 * 1024)  /* import upload */
#define WG_MAX_URL              2048u
#define WG_MAX_PATH_SEGMENTS    8u
#define WG_MAX_JSON_DEPTH       16u
#define WG_MAX_STRING_FIELD     4096u                 /* any single text field */
#define WG_MAX_NAME             200u
#define WG_MAX_USERNAME         64u
#define WG_MIN_PASSWORD         10u
#define WG_MAX_PASSWORD         256u
#define WG_MAX_LIST_LIMIT       1000u
#define WG_DEFAULT_LIST_LIMIT   50u
#define WG_MAX_CSV_CELL         (64u * 1024)
#define WG_MAX_CSV_LINE         (1u * 1024 * 1024)
#define WG_MAX_IMPORT_ROWS      5000000u
#define WG_MAX_IMPORT_ERRORS    1000u
#define WG_MAX_IMPORT_REPORT    5000u                 /* rows an import reports one by one (inserted, updated …) */
#define WG_MAX_SQL              (64u * 1024)
#define WG_MAX_GRID_DEPTH       12u
#define WG_MAX_GRID_PATH        512u
/* An import file from this size into a table with fewer rows than it holds
 * builds that table's non-unique indexes by sorting (wangge.conf
 * import_sort_index_bytes); up to WG_MAX_SORT_INDEX_BYTES, since the sort
 * runs in memory. */
#define WG_IMPORT_SORT_INDEX_BYTES (8 << 20)
/* HTTP workers (wangge.conf threads). A scan waits in its worker until the
 * scan log's group commit has it on disk, so the workers bound the scans
 * in flight, and so how many one fsync carries; the connection pool has
 * one per worker and two more. */
#define WG_DEFAULT_THREADS 16
/* Query parameters a resource adds to its import (wg_resource.import_query). */
#define WG_MAX_IMPORT_QUERY 8
/* Figures the dashboard counts under a place, over all modules (stats_api.c). */
#define WG_MAX_COUNTERS 32
/* Requests a minute from one address to what anyone may call (the venue door page). */
#define WG_PUBLIC_REQUESTS_PER_MINUTE 60
#define WG_MAX_SORT_INDEX_BYTES    (256ll << 20)
/* A text search (?q=) counts its matches up to this many; beyond, total_capped. */
#define WG_MAX_SEARCH_COUNT     10000u
#define WG_MAX_LEADERS          32u
#define WG_MAX_TAGS             16u                   /* entries of a tag set (FT_TAGS) */
#define WG_MAX_TAG_BYTES        64u

/* What modules declare (core/app/module.h): room for every domain to come. */
#define WG_MAX_MODULES          64u
#define WG_MAX_RIGHTS           512u                  /* bits of a role's right set (a multiple of 64) */
#define WG_MAX_ROLES            256u
#define WG_MAX_ROLE_NAME        32u
#define WG_MAX_ROLE_LABEL       64u
#define WG_MAX_RESOURCES        256u
#define WG_MAX_EXTRA_COLUMNS    128u                  /* secret and path columns of tables that are not resources */
#define WG_MAX_ROUTES           2048u
#define WG_MAX_COMMANDS         64u
#define WG_MAX_LISTENERS        256u                  /* event listeners of all modules (core/app/events.h) */

#define WG_MAX_CACHED_SESSIONS  100000u               /* signed-in sessions kept in memory (then the cache starts over) */
#define WG_MAX_JOBS_KEPT        256u                  /* background jobs remembered for GET /api/v1/jobs/{id} */
#define WG_MAX_TRACE_BATCH      2000u                 /* cases in one POST /api/v1/cases/trace */
#define WG_MAX_DEMO_PERSONS     5000000u              /* wangge demo --persons */
#define WG_MAX_NOTE             500u                  /* characters of a note on a resolution */
#define WG_IMPORT_MEMO_SIZE     16384u                /* lookups an import remembers (half full at most) */
#define WG_MAX_SQL_PARAMS       512u                  /* parameters of one statement (PostgreSQL) */
/* Batches of writes (PostgreSQL, core/store/store_pg_batch.c): sent when
 * their text reaches WG_BATCH_FLUSH_BYTES or WG_BATCH_STATEMENTS statements
 * (whose results are read only after all are sent: they must fit the
 * socket's buffers), COPY data written in pieces. */
#define WG_BATCH_TARGETS        16u                   /* tables (with their columns) one batch COPYs into */
#define WG_BATCH_STAGES         4u                    /* rows of a later stage may refer to earlier ones */
#define WG_BATCH_FLUSH_BYTES    (4u * 1024 * 1024)
#define WG_MAX_BATCH_BYTES      (64u * 1024 * 1024)
#define WG_BATCH_STATEMENTS     1000u
#define WG_BATCH_COPY_PIECE     (64u * 1024)
/* Reading a sheet ahead (core/sheet/sheet_rows.c): at most this many rows
 * and this much row text held ahead, and a row buffer that grew past
 * WG_SHEET_KEEP_BYTES (a very wide row) is given back once used. */
#define WG_SHEET_AHEAD_MAX_ROWS    4096u
#define WG_SHEET_AHEAD_BYTES       (16u * 1024 * 1024)
#define WG_SHEET_KEEP_BYTES        (64u * 1024)
/* An import on PostgreSQL sends its rows in chunks, each a batch: up to
 * WG_IMPORT_CHUNK_ROWS rows, a quarter after a chunk that had to be done
 * again row by row, at least WG_IMPORT_CHUNK_MIN; below that the next
 * WG_IMPORT_CHUNK_PAUSE rows go one by one (a file of duplicates). Ids are
 * taken from the sequences WG_IMPORT_ID_BATCH at a time. A grid's
 * households are read at once when it has at most WG_IMPORT_GRID_HOUSEHOLDS. */
#define WG_IMPORT_CHUNK_ROWS       1000u                /* wangge.conf import_chunk_rows */
#define WG_IMPORT_CHUNK_MAX_ROWS   2000u
#define WG_IMPORT_CHUNK_BYTES      (8u * 1024 * 1024)  /* of the chunk's rows' text */
#define WG_IMPORT_CHUNK_MIN        16u
#define WG_IMPORT_CHUNK_PAUSE      256u
#define WG_IMPORT_ID_BATCH         1000u
#define WG_IMPORT_ID_TABLES        4u
#define WG_IMPORT_GRID_HOUSEHOLDS  2000u
#define WG_MAX_RESPONSE         (64u * 1024 * 1024)

#define WG_SESSION_IDLE_SECONDS      (2 * 3600)
#define WG_SESSION_ABSOLUTE_SECONDS  (12 * 3600)
#define WG_LOGIN_FAILS_PER_USER      5
#define WG_LOGIN_FAILS_PER_ADDRESS   20
#define WG_LOGIN_WINDOW_SECONDS      (15 * 60)
#define WG_LOGIN_LOCK_SECONDS        (15 * 60)
#define WG_PASSWORD_CLASSES          3                /* of lower case, upper case, digits, others (GB/T 22239: complexity) */
#define WG_PASSWORD_DISTINCT         5                /* different characters a password needs at least */

/* The audit trail's end (core/audit): its head is signed into the data
 * directory's audit/checkpoints this often while records are written;
 * records older than so many days move to signed archive files. */
#define WG_AUDIT_CHECKPOINT_SECONDS   60
#define WG_AUDIT_ARCHIVE_DAYS         30
#define WG_AUDIT_ARCHIVE_MAX_RECORDS  1000000u           /* records in one archive file */

#define WG_CONNECTION_TIMEOUT_SECONDS 30u
#define WG_MAX_PEM                    (256u * 1024)       /* a TLS certificate chain or key file (tls_cert, tls_key) */
/* libmicrohttpd's per-connection memory (request line, headers, read
 * buffer, response headers): it zeroes all of it for every request on a
 * kept-alive connection, so its default of 32 KiB cost about 6 % of a read.
 * 8 KiB holds any request header we serve (URLs stop at WG_MAX_URL, a
 * browser sends under 2 KiB); larger headers get 431. Bodies stream. */
#define WG_CONNECTION_MEMORY          (8u * 1024)
#define WG_DB_POOL_SIZE               8u
/* A SQLite read snapshot kept between requests lives at most this long:
 * how late another process's write may show (store_sqlite.c). */
#define WG_READ_SNAPSHOT_MICROS       10000u

/* Spreadsheet reading (sheet_*.c). XLSX parts are decompressed as streams;
 * these caps stop zip bombs. */
#define WG_MAX_SHEET_CELL         WG_MAX_CSV_CELL        /* one cell, any format */
#define WG_MAX_SHEET_ROW          WG_MAX_CSV_LINE        /* all cells of one row */
#define WG_MAX_SHEET_COLUMNS      1024u
#define WG_MAX_SHEET_XML          (1024ull * 1024 * 1024) /* worksheet XML, uncompressed */
#define WG_MAX_SHARED_STRINGS_XML (128u * 1024 * 1024)   /* sharedStrings.xml, uncompressed */
#define WG_MAX_SHARED_STRINGS     (2u * 1024 * 1024)     /* entries in the shared string table */
#define WG_MAX_XLSX_PART          (4u * 1024 * 1024)     /* workbook.xml and .rels parts */

#endif
