/* `wangge trace …`: load, query and maintain the tracing store.
 *
 * Commands and options are declared in two tables; the dispatcher parses
 * the options a command allows, and each command only does its work. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/lib/err.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"
#include "trace/trace_int.h"
#include "trace/trace_cli.h"

/* Options: name, takes a value, bit of the commands that accept it, help. */
#define O_LOAD   1u
#define O_QUERY  2u
#define O_BATCH  4u
#define O_EXPIRE 8u
#define O_STATS  16u
#define O_ALL    31u

#define TRACE_OPTIONS(X) \
	X(DATA,      "data",        1, O_ALL,                   "DIR   数据目录 / data directory (store in DIR/trace), default ./data") \
	X(FORMAT,    "format",      1, O_QUERY | O_BATCH | O_STATS, "F     table|csv|json (default table)") \
	X(PERSON,    "person",      1, O_QUERY,                 "ID    病例人员编号 / the case's person id") \
	X(ONSET,     "onset",       1, O_QUERY,                 "T     发病或首次阳性时间 / onset, Unix seconds") \
	X(BUFFER,    "buffer",      1, O_QUERY | O_BATCH,       "MIN   时间缓冲 / minutes a stay may miss by (default 30)") \
	X(LOOKBACK,  "lookback",    1, O_QUERY | O_BATCH,       "DAYS  回溯天数 / days before onset (default 14)") \
	X(MAXSTAY,   "max-stay",    1, O_QUERY | O_BATCH | O_LOAD, "MIN   最长停留 / longest stay (load: accepted; query: cut to)") \
	X(MINOVER,   "min-overlap", 1, O_QUERY | O_BATCH,       "MIN   最短重叠 / minimum overlap (default 0)") \
	X(MODE,      "mode",        1, O_QUERY,                 "M     次密接规则 / secondary rule: ordered (default) | window") \
	X(COMPDWELL, "comp-dwell",  1, O_QUERY,                 "R     时空伴随的长时停留(14 天内 >30 小时)/ companions, a long dwell in the cell: require (published rule, default) | exclude (option: leave such cells out)") \
	X(THREADS,   "threads",     1, O_QUERY | O_BATCH,       "N     线程数 / worker threads (default: all cores)") \
	X(CASES,     "cases",       1, O_BATCH,                 "FILE  病例文件 / CSV person,onset") \
	X(EVIDENCE,  "evidence",    0, O_BATCH,                 "      逐条证据与排序 / every pair ranked with its evidence (slower)") \
	X(CELLS,     "cells",       0, O_LOAD,                  "      位置轨迹 / the CSV holds person,lat,lng,t_in,t_out") \
	X(NOW,       "now",         1, O_LOAD | O_EXPIRE,       "T     当前时间 / the current time, Unix seconds (replays)") \
	X(RETENTION, "retention",   1, O_EXPIRE,                "DAYS  保留天数 / retention (default 28)") \
	X(CELLSIZE,  "cell-size",   1, O_LOAD | O_QUERY,        "M     网格边长 / cell size in metres (default 800)") \
	X(HELP,      "help",        0, O_ALL,                   "      显示帮助 / this help")

enum opt_id {
#define OPT_ENUM(id, name, arg, cmds, help) OPT_##id,
	TRACE_OPTIONS(OPT_ENUM)
#undef OPT_ENUM
	OPT__COUNT
};

struct opt_def {
	const char *name;
	int arg;
	unsigned cmds;
	const char *help;
};

static const struct opt_def opts[] = {
#define OPT_ROW(id, name, arg, cmds, help) { name, arg, cmds, help },
	TRACE_OPTIONS(OPT_ROW)
#undef OPT_ROW
};

struct cli {
	const char *val[OPT__COUNT];
	bool set[OPT__COUNT];
	const char *pos[4];
	int npos;
	const struct cli_cmd *cmd;
};

struct cli_cmd {
	const char *name;
	unsigned bit;
	int npos;
	int (*run)(struct cli *c);
	const char *args;
	const char *help;
};

static int cmd_load(struct cli *c);
static int cmd_close(struct cli *c);
static int cmd_secondary(struct cli *c);
static int cmd_companions(struct cli *c);
static int cmd_batch(struct cli *c);
static int cmd_expire(struct cli *c);
static int cmd_stats(struct cli *c);

static const struct cli_cmd cmds[] = {
	{ "load",       O_LOAD,   1, cmd_load,       "FILE",
	  "导入场所码扫码(CSV person,venue,t_in,t_out 或二进制) / load scans (CSV or binary)" },
	{ "close",      O_QUERY,  0, cmd_close,      "--person ID --onset T",
	  "密接 / close contacts of a case" },
	{ "secondary",  O_QUERY,  0, cmd_secondary,  "--person ID --onset T",
	  "次密接 / secondary contacts of a case" },
	{ "companions", O_QUERY,  0, cmd_companions, "--person ID --onset T",
	  "时空伴随者 / spatiotemporal companions of a case" },
	{ "batch",      O_BATCH,  0, cmd_batch,      "--cases FILE",
	  "批量密接 / close contacts of many cases: distinct (case, person) pairs; --evidence for ranked rows with evidence" },
	{ "expire",     O_EXPIRE, 0, cmd_expire,     "",
	  "删除过期数据 / delete records older than the retention" },
	{ "stats",      O_STATS,  0, cmd_stats,      "",
	  "统计 / record counts" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage_cmd(FILE *f, const struct cli_cmd *cmd)
{
	fprintf(f, "usage: wangge trace %s %s [options]\n  %s\noptions:\n", cmd->name, cmd->args, cmd->help);
	for (int i = 0; i < OPT__COUNT; i++)
		if (opts[i].cmds & cmd->bit)
			fprintf(f, "  --%-12s %s\n", opts[i].name, opts[i].help);
}

static void usage(FILE *f)
{
	fputs("usage: wangge trace COMMAND [options]\n"
	      "  流调引擎:密接、次密接、时空伴随 / the tracing engine\ncommands:\n", f);
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].help);
	fputs("`wangge trace COMMAND --help` lists the options of a command.\n", f);
}

static int bad_usage(const struct cli_cmd *cmd, const char *zh, const char *en, const char *arg)
{
	wg_error("%s: %s / %s: %s", zh, arg, en, arg);
	if (cmd)
		usage_cmd(stderr, cmd);
	else
		usage(stderr);
	return 2;
}

static int parse_args(struct cli *c, int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		int id = -1;
		if (strncmp(a, "--", 2) != 0) {
			if (c->npos >= 4)
				return bad_usage(c->cmd, "多余的参数", "unexpected argument", a);
			c->pos[c->npos++] = a;
			continue;
		}
		for (int k = 0; k < OPT__COUNT; k++)
			if (strcmp(a + 2, opts[k].name) == 0 && (opts[k].cmds & c->cmd->bit))
				id = k;
		if (id < 0)
			return bad_usage(c->cmd, "未知选项", "unknown option", a);
		if (opts[id].arg) {
			if (i + 1 >= argc)
				return bad_usage(c->cmd, "选项缺少值", "option needs a value", a);
			c->val[id] = argv[++i];
		}
		c->set[id] = true;
	}
	return 0;
}

/* ---- option values -------------------------------------------------------- */

static int opt_u32(struct cli *c, int id, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint32_t v;
	const char *s = c->val[id];
	if (!c->set[id])
		return 0;
	if (!wg_parse_u32(s, strlen(s), &v) || v < lo || v > hi) {
		char what[96];
		snprintf(what, sizeof(what), "--%s %s (%u..%u)", opts[id].name, s, lo, hi);
		return bad_usage(c->cmd, "选项值无效", "invalid option value", what);
	}
	*out = v;
	return 0;
}

static int opt_time(struct cli *c, int id, int64_t *out)
{
	int64_t v;
	const char *s = c->val[id];
	if (!c->set[id])
		return 0;
	if (!wg_parse_i64(s, strlen(s), &v) || v < 0 || v > (int64_t)UINT32_MAX * 60) {
		char what[96];
		snprintf(what, sizeof(what), "--%s %s", opts[id].name, s);
		return bad_usage(c->cmd, "时间无效(应为 Unix 秒)", "invalid time (Unix seconds)", what);
	}
	*out = v;
	return 0;
}

/* The limits this run checks records against, for messages that name them. */
static struct trace_params limits;

static int get_params(struct cli *c, struct trace_params *p)
{
	trace_params_default(p);
	if (opt_u32(c, OPT_MAXSTAY, 1, UINT16_MAX - 1, &p->max_stay_min)
	    || opt_u32(c, OPT_RETENTION, 1, 3650, &p->retention_days)
	    || opt_u32(c, OPT_CELLSIZE, 200, 100000, &p->cell_size_m))
		return 2;
	limits = *p;
	return 0;
}

static int get_rule(struct cli *c, struct trace_rule *r)
{
	uint32_t threads = 0;
	trace_rule_default(r);
	if (opt_u32(c, OPT_BUFFER, 0, 1440, &r->buffer_min)
	    || opt_u32(c, OPT_LOOKBACK, 0, 365, &r->lookback_days)
	    || opt_u32(c, OPT_MAXSTAY, 1, UINT16_MAX - 1, &r->max_stay_min)
	    || opt_u32(c, OPT_MINOVER, 0, 1440, &r->min_overlap_min)
	    || opt_u32(c, OPT_THREADS, 1, 64, &threads))
		return 2;
	r->threads = (int)threads;
	if (c->set[OPT_MODE]) {
		if (strcmp(c->val[OPT_MODE], "ordered") == 0)
			r->mode = TRACE_TIME_ORDERED;
		else if (strcmp(c->val[OPT_MODE], "window") == 0)
			r->mode = TRACE_WHOLE_WINDOW;
		else
			return bad_usage(c->cmd, "选项值无效", "invalid option value", c->val[OPT_MODE]);
	}
	if (c->set[OPT_COMPDWELL]) {
		if (strcmp(c->val[OPT_COMPDWELL], "require") == 0)
			r->comp_dwell_rule = TRACE_COMP_DWELL_REQUIRED;
		else if (strcmp(c->val[OPT_COMPDWELL], "exclude") == 0)
			r->comp_dwell_rule = TRACE_COMP_DWELL_EXCLUDES;
		else
			return bad_usage(c->cmd, "选项值无效", "invalid option value", c->val[OPT_COMPDWELL]);
	}
	return 0;
}

static int get_format(struct cli *c, enum cli_format *f)
{
	const char *v = c->set[OPT_FORMAT] ? c->val[OPT_FORMAT] : "table";
	if (strcmp(v, "table") == 0)
		*f = CLI_TABLE;
	else if (strcmp(v, "csv") == 0)
		*f = CLI_CSV;
	else if (strcmp(v, "json") == 0)
		*f = CLI_JSON;
	else
		return bad_usage(c->cmd, "输出格式无效", "invalid format", v);
	return 0;
}

/* ---- store ---------------------------------------------------------------- */

static int report(int rc, const struct trace_diag *d, const char *source)
{
	if (d && d->row)
		wg_error("%s 第 %llu 行 %s: %s / %s row %llu (%s): %s", source,
			 (unsigned long long)d->row, d->what, trace_err_zh(rc), source,
			 (unsigned long long)d->row, d->what, trace_err_en(rc));
	else if (d && (d->offset || d->what[0]))
		wg_error("%s 字节偏移 %llu %s: %s / %s byte offset %llu (%s): %s", source,
			 (unsigned long long)d->offset, d->what, trace_err_zh(rc), source,
			 (unsigned long long)d->offset, d->what, trace_err_en(rc));
	else
		wg_error("%s: %s / %s: %s", source, trace_err_zh(rc), source, trace_err_en(rc));
	if (rc == TRACE_ERR_TOO_LONG && limits.max_stay_min)
		wg_error("上限:扫码停留 %u 分钟,位置记录 %u 分钟(扫码上限可用 --max-stay 调整)/ the limit: %u minutes a scan, "
			 "%u a location record (--max-stay sets the scans')", limits.max_stay_min, limits.max_dwell_min,
			 limits.max_stay_min, limits.max_dwell_min);
	return 1;
}

static const char *data_dir(const struct cli *c)
{
	return c->set[OPT_DATA] ? c->val[OPT_DATA] : "data";
}

/* DATA/trace, the store's directory. */
static int store_dir(struct cli *c, char *dir, size_t size)
{
	int n = snprintf(dir, size, "%s/trace", data_dir(c));
	if (n < 0 || (size_t)n >= size)
		return bad_usage(c->cmd, "路径太长", "path too long", data_dir(c));
	return 0;
}

/* Opens the store; *made (may be NULL) says whether its directory is new. */
static int open_store_made(struct cli *c, const struct trace_params *p, trace_store **s, bool *made)
{
	char dir[4096];
	struct trace_diag d;
	struct stat st;
	int rc;

	memset(&d, 0, sizeof(d));
	if (mkdir(data_dir(c), 0700) != 0 && errno != EEXIST)
		return report(TRACE_ERR_IO, NULL, data_dir(c));
	rc = store_dir(c, dir, sizeof(dir));
	if (rc)
		return rc;
	if (made)
		*made = stat(dir, &st) != 0;
	rc = trace_store_open(dir, p, s, &d);
	if (rc)
		return report(rc, &d, dir);
	return 0;
}

static int open_store(struct cli *c, const struct trace_params *p, trace_store **s)
{
	return open_store_made(c, p, s, NULL);
}

/* A damaged index file was not used: say so (the answer is still right,
 * the index was rebuilt from the segments and saved again). */
static void note_index(const trace_store *s)
{
	for (int k = TRACE_SCAN; k <= TRACE_CELL; k++) {
		int st = trace_store_index_state(s, (enum trace_kind)k);
		if (st > 0)
			fprintf(stderr, "wangge: 索引文件 %s.idx 不可用(%s),已重建 / index file %s.idx unusable (%s), rebuilt\n",
				k == TRACE_CELL ? "cell" : "scan", trace_err_zh(st),
				k == TRACE_CELL ? "cell" : "scan", trace_err_en(st));
	}
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- commands ------------------------------------------------------------- */

/* A binary file: checked in place (copied only when misaligned), then
 * appended; the store is opened once the file is known to be good. */
static int load_bin(struct cli *c, uint8_t *map, size_t len, const struct trace_params *p,
		    int64_t now, trace_store **s, size_t *n, size_t *added, struct trace_diag *d)
{
	struct trace_rec *recs = NULL, *owned = NULL;
	enum trace_kind kind = TRACE_SCAN;
	int rc;

	rc = trace_check_bin(map, len, &kind, p, now, &recs, n, d);
	if (!rc && !recs)
		rc = trace_parse_bin(map, len, &kind, p, now, &owned, n, d);
	if (owned)
		recs = owned;
	if (rc) {
		rc = report(rc, d, c->pos[0]);
		goto out;
	}
	rc = open_store(c, p, s);
	if (rc)
		goto out;
	cli_progress("写入 / writing", 0, 0);
	rc = trace_store_append(*s, kind, recs, *n, now, added, d);
	if (rc)
		rc = report(rc, d, c->pos[0]);
out:
	wg_free(owned);
	return rc;
}

static int cmd_load(struct cli *c)
{
	struct trace_params p;
	struct trace_diag d;
	trace_store *s = NULL;
	enum trace_kind kind = c->set[OPT_CELLS] ? TRACE_CELL : TRACE_SCAN;
	uint8_t *map = NULL;
	size_t len = 0, n = 0, added = 0;
	int64_t now = (int64_t)time(NULL);
	double t0 = now_seconds();
	int rc;

	if ((rc = get_params(c, &p)) || (rc = opt_time(c, OPT_NOW, &now)))
		return rc;
	if (c->npos != 1)
		return bad_usage(c->cmd, "需要一个文件", "one FILE is needed", "load");
	memset(&d, 0, sizeof(d));
	rc = cli_map_file(c->pos[0], &map, &len);
	if (rc) {
		rc = report(rc, NULL, c->pos[0]);
		goto out;
	}
	cli_progress("校验 / checking", 0, 0);
	if (len >= 8 && memcmp(map, TRACE_MAGIC, 8) == 0) {
		rc = load_bin(c, map, len, &p, now, &s, &n, &added, &d);
	} else {
		/* CSV is checked, sorted and written in one go (trace_store_load_csv),
		 * so the store is opened first; a store this load made is removed
		 * again when the file is refused, so that bad input leaves nothing. */
		bool made = false;
		char dir[4096];
		rc = open_store_made(c, &p, &s, &made);
		if (!rc && (rc = trace_store_load_csv(s, kind, (const char *)map, len, now, &n,
						      &added, &d)) != TRACE_OK) {
			rc = report(rc, &d, c->pos[0]);
			trace_store_close(s);
			s = NULL;
			if (made && store_dir(c, dir, sizeof(dir)) == 0)
				rmdir(dir);
		}
	}
	cli_progress(NULL, 0, 0);
	if (rc)
		goto out;
	printf("loaded %zu records (%zu new, %zu already stored) from %s in %.2f s\n",
	       n, added, n - added, c->pos[0], now_seconds() - t0);
	rc = 0;
out:
	cli_progress(NULL, 0, 0);
	cli_unmap_file(map, len);
	trace_store_close(s);
	return rc;
}

static int query(struct cli *c, int which)
{
	struct trace_params p;
	struct trace_rule r;
	struct trace_result res = { NULL, 0 };
	enum cli_format fmt;
	trace_store *s = NULL;
	uint32_t person = 0;
	int64_t onset = -1;
	int rc;

	if ((rc = get_params(c, &p)) || (rc = get_rule(c, &r)) || (rc = get_format(c, &fmt)))
		return rc;
	if (!c->set[OPT_PERSON] || !c->set[OPT_ONSET])
		return bad_usage(c->cmd, "缺少必需选项", "required option missing", "--person, --onset");
	if ((rc = opt_u32(c, OPT_PERSON, 0, UINT32_MAX, &person)) || (rc = opt_time(c, OPT_ONSET, &onset)))
		return rc;
	/* a query accepts whatever the store holds */
	p.max_stay_min = UINT16_MAX - 1;
	p.max_dwell_min = UINT16_MAX - 1;
	rc = open_store(c, &p, &s);
	if (rc)
		return rc;
	trace_store_one_shot(s);
	if (which == 0)
		rc = trace_close_contacts(s, person, onset, &r, &res);
	else if (which == 1)
		rc = trace_secondary_contacts(s, person, onset, &r, &res);
	else
		rc = trace_companions(s, person, onset, &r, &res);
	note_index(s);
	if (rc) {
		char what[32];
		snprintf(what, sizeof(what), "--person %u", person);
		rc = report(rc, NULL, rc == TRACE_ERR_UNKNOWN_PERSON ? what : "trace");
		goto out;
	}
	rc = cli_print(stdout, fmt, c->cmd->name, &res) ? 1 : 0;
out:
	trace_result_free(&res);
	trace_store_close(s);
	return rc;
}

static int cmd_close(struct cli *c) { return query(c, 0); }
static int cmd_secondary(struct cli *c) { return query(c, 1); }
static int cmd_companions(struct cli *c) { return query(c, 2); }

static int cmd_batch(struct cli *c)
{
	struct trace_params p;
	struct trace_rule r;
	struct trace_result res = { NULL, 0 };
	struct trace_pairs pairs;
	struct trace_case *cases = NULL;
	struct trace_diag d;
	enum cli_format fmt;
	trace_store *s = NULL;
	size_t n = 0, unknown = 0;
	int rc;

	memset(&pairs, 0, sizeof(pairs));
	if ((rc = get_params(c, &p)) || (rc = get_rule(c, &r)) || (rc = get_format(c, &fmt)))
		return rc;
	if (!c->set[OPT_CASES])
		return bad_usage(c->cmd, "缺少必需选项", "required option missing", "--cases");
	memset(&d, 0, sizeof(d));
	rc = cli_read_cases(c->val[OPT_CASES], &cases, &n, &d);
	if (rc)
		return report(rc, &d, c->val[OPT_CASES]);
	p.max_stay_min = UINT16_MAX - 1;
	p.max_dwell_min = UINT16_MAX - 1;
	rc = open_store(c, &p, &s);
	if (rc)
		goto out;
	trace_store_one_shot(s);
	if (c->set[OPT_EVIDENCE])
		rc = trace_batch_close(s, cases, n, &r, &res, &unknown);
	else
		rc = trace_batch_pairs(s, cases, n, &r, &pairs, &unknown);
	note_index(s);
	if (rc) {
		rc = report(rc, NULL, "trace batch");
		goto out;
	}
	if (unknown)
		fprintf(stderr, "wangge: %zu 个病例人员不存在,已跳过 / %zu unknown case persons skipped\n",
			unknown, unknown);
	if (c->set[OPT_EVIDENCE]) {
		rc = cli_print(stdout, fmt, "batch", &res) ? 1 : 0;
	} else {
		rc = fflush(stdout) != 0 ? TRACE_ERR_IO
		     : cli_write_pairs(STDOUT_FILENO, fmt, &pairs, trace_threads(&r));
		if (rc)
			rc = report(rc, NULL, "trace batch");
	}
out:
	wg_free(cases);
	trace_result_free(&res);
	trace_pairs_free(&pairs);
	trace_store_close(s);
	return rc;
}

static int cmd_expire(struct cli *c)
{
	struct trace_params p;
	trace_store *s = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t removed = 0;
	int rc;

	if ((rc = get_params(c, &p)) || (rc = opt_time(c, OPT_NOW, &now)))
		return rc;
	rc = open_store(c, &p, &s);
	if (rc)
		return rc;
	rc = trace_store_expire(s, now, &removed);
	if (rc)
		rc = report(rc, NULL, "trace expire");
	else
		printf("expired %zu records older than %u days\n", removed, p.retention_days);
	trace_store_close(s);
	return rc;
}

static int cmd_stats(struct cli *c)
{
	struct trace_params p;
	enum cli_format fmt;
	trace_store *s = NULL;
	int rc;

	if ((rc = get_params(c, &p)) || (rc = get_format(c, &fmt)))
		return rc;
	rc = open_store(c, &p, &s);
	if (rc)
		return rc;
	if (fmt == CLI_JSON)
		printf("{\"scans\":%zu,\"cells\":%zu}\n", trace_store_count(s, TRACE_SCAN),
		       trace_store_count(s, TRACE_CELL));
	else
		printf("scans,%zu\ncells,%zu\n", trace_store_count(s, TRACE_SCAN),
		       trace_store_count(s, TRACE_CELL));
	trace_store_close(s);
	return 0;
}

int trace_cmd(int argc, char **argv)
{
	struct cli c;
	int rc;

	memset(&c, 0, sizeof(c));
	if (argc < 2)
		return usage(stderr), 2;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
		return usage(stdout), 0;
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			c.cmd = &cmds[i];
	if (!c.cmd)
		return bad_usage(NULL, "未知命令", "unknown command", argv[1]);
	rc = parse_args(&c, argc, argv);
	if (rc)
		return rc;
	if (c.set[OPT_HELP])
		return usage_cmd(stdout, c.cmd), 0;
	if (c.npos > c.cmd->npos)
		return bad_usage(c.cmd, "多余的参数", "unexpected argument", c.pos[c.npos - 1]);
	return c.cmd->run(&c);
}
