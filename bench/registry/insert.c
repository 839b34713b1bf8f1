/* The ceiling for a real import: a plain C program that reads the same CSV
 * and inserts every row with one prepared statement into a table with a
 * unique index on the ID number, in one transaction. No validation, no
 * encryption, no audit: what raw SQLite costs.
 *   insert DB CSV */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char line[4096];
	if (argc != 3 || sqlite3_open(argv[1], &db) != SQLITE_OK)
		return fprintf(stderr, "usage: insert DB CSV\n"), 2;
	FILE *f = fopen(argv[2], "r");
	if (!f)
		return perror(argv[2]), 1;
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		     "CREATE TABLE p (name TEXT, gender TEXT, id_number TEXT, phone TEXT, birth TEXT, address TEXT,"
		     " grid TEXT, residence TEXT, tags TEXT); CREATE UNIQUE INDEX p_id ON p(id_number); BEGIN", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO p VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL);
	long rows = 0;
	if (!fgets(line, sizeof line, f))
		return 1;
	while (fgets(line, sizeof line, f)) {
		char *p = line;
		line[strcspn(line, "\r\n")] = '\0';
		for (int col = 1; col <= 9; col++) {
			char *comma = strchr(p, ',');
			if (comma)
				*comma = '\0';
			sqlite3_bind_text(st, col, p, -1, SQLITE_STATIC);
			p = comma ? comma + 1 : p + strlen(p);
		}
		if (sqlite3_step(st) != SQLITE_DONE)
			return fprintf(stderr, "row %ld: %s\n", rows + 2, sqlite3_errmsg(db)), 1;
		sqlite3_reset(st);
		rows++;
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	fclose(f);
	printf("%ld\n", rows);
	return 0;
}
