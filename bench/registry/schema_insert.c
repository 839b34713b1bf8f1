/* The ceiling of the registry's own schema: the same CSV inserted with
 * prepared statements into wangge's persons and households tables (every
 * column the import fills, values of the real sizes: ciphertexts as long as
 * "k1:" + base64 of XChaCha20-Poly1305, 32-hex blind indexes), a household
 * per new address, every index of the schema; no parsing beyond splitting,
 * no validation, no encryption, no audit. With "sorted", the non-unique
 * indexes are dropped first and built at the end; with "allsorted" the
 * unique one on the ID number too (as wangge does for a big import into a
 * small table, which then finds repeated ID numbers in memory; this
 * program does not look for them).
 *   schema_insert DB CSV live|sorted|allsorted */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const schema =
	"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
	"PRAGMA cache_size=-32768; PRAGMA threads=2;"
	"CREATE TABLE grid_nodes (id INTEGER PRIMARY KEY, code TEXT UNIQUE, path TEXT);"
	"CREATE TABLE households (id INTEGER PRIMARY KEY AUTOINCREMENT, grid_id INTEGER NOT NULL REFERENCES grid_nodes(id),"
	" node_path TEXT NOT NULL, address TEXT NOT NULL, head_person_id INTEGER, phone_enc TEXT, phone_bidx TEXT,"
	" tags TEXT NOT NULL DEFAULT '', note TEXT, version INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL);"
	"CREATE INDEX households_path ON households(node_path);"
	"CREATE INDEX households_grid_address ON households(grid_id, address);"
	"CREATE TABLE persons (id INTEGER PRIMARY KEY AUTOINCREMENT, grid_id INTEGER NOT NULL REFERENCES grid_nodes(id),"
	" node_path TEXT NOT NULL, household_id INTEGER REFERENCES households(id), name TEXT NOT NULL, id_number_enc TEXT,"
	" id_number_bidx TEXT, id_missing INTEGER NOT NULL DEFAULT 0, phone_enc TEXT, phone_bidx TEXT, gender TEXT,"
	" birth_date TEXT, residence TEXT, workplace TEXT, tags TEXT NOT NULL DEFAULT '', note TEXT,"
	" version INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX persons_id_number ON persons(id_number_bidx);"
	"CREATE INDEX persons_phone ON persons(phone_bidx);"
	"CREATE INDEX persons_path ON persons(node_path);"
	"CREATE INDEX persons_name ON persons(name, node_path);"
	"CREATE INDEX persons_household ON persons(household_id);";

static const char *const secondary[] = {
	"CREATE UNIQUE INDEX persons_id_number ON persons(id_number_bidx)",  /* allsorted only */
	"CREATE INDEX persons_phone ON persons(phone_bidx)",
	"CREATE INDEX persons_path ON persons(node_path)",
	"CREATE INDEX persons_name ON persons(name, node_path)",
	"CREATE INDEX persons_household ON persons(household_id)",
};

/* Stand-ins of the real sizes: a keyed hash is not the point here. */
static void fake(const char *prefix, const char *s, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	uint64_t h = 1469598103934665603u;
	for (const char *p = s; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	size_t n = strlen(prefix);
	memcpy(out, prefix, n);
	for (size_t i = 0; i < len; i++) {
		out[n + i] = digits[h >> 60];
		h = h * 6364136223846793005u + 1442695040888963407u;
	}
	out[n + len] = '\0';
}

static int step(sqlite3 *db, sqlite3_stmt *st, long row)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return fprintf(stderr, "row %ld: %s\n", row, sqlite3_errmsg(db)), 1;
	sqlite3_reset(st);
	return 0;
}

int main(int argc, char **argv)
{
	sqlite3 *db;
	sqlite3_stmt *grid, *house, *person;
	char line[4096], last_address[512] = "", last_code[32] = "", id_enc[96], id_bidx[40], ph_enc[96], ph_bidx[40], path[64];
	long rows = 0, household = 0, grids = 0;
	if (argc != 4 || sqlite3_open(argv[1], &db) != SQLITE_OK)
		return fprintf(stderr, "usage: schema_insert DB CSV live|sorted|allsorted\n"), 2;
	int sorted = strcmp(argv[3], "sorted") == 0 || strcmp(argv[3], "allsorted") == 0;
	size_t first = strcmp(argv[3], "allsorted") == 0 ? 0 : 1;  /* the unique index, or not */
	FILE *f = fopen(argv[2], "r");
	if (!f || sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
		return fprintf(stderr, "%s\n", sqlite3_errmsg(db)), 1;
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (size_t i = first; sorted && i < sizeof secondary / sizeof secondary[0]; i++) {
		const char *name = strstr(secondary[i], "INDEX ") + 6;
		char drop[96];
		snprintf(drop, sizeof drop, "DROP INDEX %.*s", (int)strcspn(name, " "), name);
		sqlite3_exec(db, drop, NULL, NULL, NULL);
	}
	sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO grid_nodes (id, code, path) VALUES (?, ?, ?)", -1, &grid, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO households (grid_id, node_path, address, created_at, updated_at)"
			   " VALUES ((SELECT id FROM grid_nodes WHERE code = ?), ?, ?, 1, 1)", -1, &house, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO persons (version, created_at, updated_at, node_path, name, id_number_enc,"
			   " id_number_bidx, phone_enc, phone_bidx, birth_date, gender, grid_id, household_id, residence, tags,"
			   " id_missing) VALUES (1, 1, 1, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT id FROM grid_nodes WHERE code = ?), ?, ?, ?, 0)",
			   -1, &person, NULL);
	if (!fgets(line, sizeof line, f))
		return 1;
	while (fgets(line, sizeof line, f)) {
		char *cell[9], *p = line;
		line[strcspn(line, "\r\n")] = '\0';
		for (int col = 0; col < 9; col++) {
			char *comma = strchr(p, ',');
			if (comma)
				*comma = '\0';
			cell[col] = p;
			p = comma ? comma + 1 : p + strlen(p);
		}
		/* name, gender, id, phone, birth, address, grid code, residence, tags */
		snprintf(path, sizeof path, "/1/2/3/%s/", cell[6] + 12);
		if (strcmp(cell[6], last_code) != 0) {  /* the grids the roster names, made as they come */
			snprintf(last_code, sizeof last_code, "%s", cell[6]);
			sqlite3_bind_int64(grid, 1, ++grids);
			sqlite3_bind_text(grid, 2, cell[6], -1, SQLITE_STATIC);
			sqlite3_bind_text(grid, 3, path, -1, SQLITE_STATIC);
			if (step(db, grid, rows + 2))
				return 1;
		}
		if (strcmp(cell[5], last_address) != 0) {
			snprintf(last_address, sizeof last_address, "%s", cell[5]);
			sqlite3_bind_text(house, 1, cell[6], -1, SQLITE_STATIC);
			sqlite3_bind_text(house, 2, path, -1, SQLITE_STATIC);
			sqlite3_bind_text(house, 3, cell[5], -1, SQLITE_STATIC);
			if (step(db, house, rows + 2))
				return 1;
			household = sqlite3_last_insert_rowid(db);
		}
		fake("k1:", cell[2], 78, id_enc);
		fake("", cell[2], 32, id_bidx);
		fake("k1:", cell[3], 68, ph_enc);
		fake("", cell[3], 32, ph_bidx);
		const char *values[] = { path, cell[0], id_enc, id_bidx, ph_enc, ph_bidx, cell[4], cell[1] };
		for (int k = 0; k < 8; k++)
			sqlite3_bind_text(person, k + 1, values[k], -1, SQLITE_STATIC);
		sqlite3_bind_text(person, 9, cell[6], -1, SQLITE_STATIC);
		sqlite3_bind_int64(person, 10, household);
		sqlite3_bind_text(person, 11, cell[7], -1, SQLITE_STATIC);
		sqlite3_bind_text(person, 12, cell[8], -1, SQLITE_STATIC);
		if (step(db, person, rows + 2))
			return 1;
		rows++;
	}
	for (size_t i = first; sorted && i < sizeof secondary / sizeof secondary[0]; i++)
		if (sqlite3_exec(db, secondary[i], NULL, NULL, NULL) != SQLITE_OK)
			return fprintf(stderr, "%s\n", sqlite3_errmsg(db)), 1;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_finalize(grid);
	sqlite3_finalize(house);
	sqlite3_finalize(person);
	sqlite3_close(db);
	fclose(f);
	printf("%ld\n", rows);
	return 0;
}
