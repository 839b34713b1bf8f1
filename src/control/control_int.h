/* Between the files of the control module only. */
#ifndef WG_CONTROL_INT_H
#define WG_CONTROL_INT_H

#include "control/control.h"
#include "core/app/module.h"
#include "core/http/http.h"
#include "core/lib/json.h"
#include "core/lib/limits.h"
#include "core/lib/parse.h"
#include "core/resource/resource.h"
#include "registry/registry.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The module's own limits (the platform's are in core/lib/limits.h). */
#define CTL_MAX_PHASES          4        /* phases of one category (central, then home …) */
#define CTL_MAX_PHASE_DAYS      60       /* days of one phase */
#define CTL_MAX_NAT_DAYS        32       /* NAT days of one phase */
#define CTL_MAX_CHAIN_NAT       (CTL_MAX_PHASES * CTL_MAX_NAT_DAYS)
#define CTL_MAX_SYMPTOMS        24
#define CTL_MAX_TEAM            8        /* members of a team shape */
#define CTL_MAX_CODE            32       /* a preset's, team shape's or symptom's code, in bytes */
#define CTL_MAX_LABEL           96       /* a label, in bytes */
#define CTL_MAX_RULES_BYTES     (64u * 1024)
#define CTL_MAX_DELTAS          1024     /* counter changes of one write */
#define CTL_MAX_WORKLIST        500      /* items of each list of a worklist */
#define CTL_MAX_RANGE_DAYS      92       /* days of an occupancy or staff listing */
#define CTL_MAX_REASON          500      /* characters of a reason or a note */
#define CTL_MAX_BATCH_ITEMS     500      /* rooms, slots … given in one call */
#define CTL_MAX_NAME_BYTES      256
#define CTL_CACHED_VERSIONS     64       /* parsed preset versions kept in memory */
#define CTL_MAX_ESCALATE_SECONDS (7 * 86400)

/* ---- words (records.c) ---- */
enum ctl_category { CAT_CLOSE, CAT_SECONDARY, CAT_SPATIOTEMPORAL, CAT_HIGH_RISK, CAT_OVERSEAS, CAT_PUSHED,
		    CAT_SELF_FOUND, CTL_NCATEGORIES };
enum ctl_mode { MODE_CENTRAL, MODE_HOME_ISOLATION, MODE_HOME_MONITORING, CTL_NMODES };
enum ctl_status { ST_ACTIVE, ST_RELEASED, ST_TRANSFERRED, ST_CLOSED, CTL_NSTATUSES };
extern const char *const ctl_categories[], *const ctl_category_labels[];
extern const char *const ctl_modes[], *const ctl_mode_labels[];
extern const char *const ctl_statuses[], *const ctl_status_labels[];
/* The position of s in a NULL-terminated list, -1 when absent. */
int ctl_index_of(const char *const *list, const char *s);

/* ---- times (times.c): Unix seconds in, local days and ISO 8601 out ---- */
int64_t ctl_local_day(int64_t t);                       /* days since 1970-01-01, local */
int64_t ctl_day_start(int64_t day);                     /* Unix seconds of the day's local midnight */
void    ctl_day_text(int64_t day, char out[WG_DATE_TEXT]);
bool    ctl_day_parse(const char *s, size_t n, int64_t *day);
int     ctl_json_day(json_t *o, const char *key, int64_t day);  /* "YYYY-MM-DD", null for day < 0 */
/* A device's time: Unix seconds, or ISO 8601 with an offset ("…+08:00", "…Z"). */
bool    ctl_time_parse(const char *s, size_t n, int64_t *t);
/* The body's member field as a time (absent: def); 422 naming the field. */
int     ctl_body_time(wg_req *r, const char *field, int64_t def, int64_t *t);
/* The body's member field as a day "YYYY-MM-DD" (absent: def); 422 naming the field. */
int     ctl_body_day(wg_req *r, const char *field, int64_t def, int64_t *day);
/* ?key=YYYY-MM-DD (absent: def); 400 naming the parameter. */
int     ctl_query_day(wg_req *r, const char *key, int64_t def, int64_t *day);
/* The body's member field as text of 1..max characters, no control characters; required or NULL. */
int     ctl_body_text(wg_req *r, const char *field, size_t max, bool required, const char **out);

/* ---- settings (settings.c) ---- */
struct ctl_settings {
	char default_preset[CTL_MAX_CODE + 1];
	int64_t escalate_seconds;        /* an open alert climbs one level per interval */
	int64_t clock_skew_seconds;      /* a device event's time may differ this much from ours */
};
/* The settings in force (read at most once a second per process). */
int  ctl_settings_get(wg_req *r, struct ctl_settings *out);
int  ctl_settings_load(wg_conn *c, struct ctl_settings *out);
int  ctl_settings_show(wg_req *r);
int  ctl_settings_patch(wg_req *r);

/* ---- rules of a preset version and team shapes (rules.c) ---- */
struct ctl_phase {
	int mode;                        /* enum ctl_mode */
	int days;
	int nat[CTL_MAX_NAT_DAYS];       /* days of the phase, 1-based, ascending */
	int nnat;
};
struct ctl_cat_rule {
	bool present;
	struct ctl_phase phase[CTL_MAX_PHASES];
	int nphases;
	int release_nat[CTL_MAX_CHAIN_NAT];  /* days of the chain (1-based) whose NAT must be negative to release */
	int nrelease;
};
struct ctl_symptom {
	char code[CTL_MAX_CODE + 1];
	char zh[CTL_MAX_LABEL];
};
struct ctl_rules {
	int lookback_days;
	bool from_exposure;              /* start_from: "exposure" (the last contact) or "opened" */
	char team_shape[CTL_MAX_CODE + 1];
	int checks_per_day;
	int fever_tenths;                /* 373: 37.3 °C and above is a fever */
	struct ctl_symptom symptoms[CTL_MAX_SYMPTOMS];
	int nsymptoms;
	struct ctl_cat_rule cat[CTL_NCATEGORIES];
};
struct ctl_team_member {
	char role[CTL_MAX_CODE + 1];
	char zh[CTL_MAX_LABEL];
	char from_duty[CTL_MAX_LABEL];   /* filled from the grid's leaders with this duty, "" if not */
};
struct ctl_team_shape {
	struct ctl_team_member m[CTL_MAX_TEAM];
	int n;
};
/* Why rules were refused: the member at fault and what is wrong with it. */
struct ctl_why {
	char field[128];
	char zh[256], en[256];
};
int  ctl_rules_parse(const json_t *j, struct ctl_rules *out, struct ctl_why *why);
int  ctl_team_shape_parse(const json_t *j, struct ctl_team_shape *out, struct ctl_why *why);
int  ctl_rule_total_days(const struct ctl_cat_rule *c);
/* The NAT days of the whole chain (1-based day numbers), ascending; returns their count. */
int  ctl_rule_nat_days(const struct ctl_cat_rule *c, int *out, int max);
/* The mode of day_no of the chain (the last phase's beyond the end). */
int  ctl_rule_mode_on(const struct ctl_cat_rule *c, int day_no);
const struct ctl_symptom *ctl_rules_symptom(const struct ctl_rules *rules, const char *code_or_zh);

/* ---- versioned configuration: presets and team shapes (config.c) ---- */
/* The rules of a preset version (parsed once, kept: versions never change). */
int  ctl_preset_rules(wg_req *r, int64_t version_id, struct ctl_rules *out);
/* The same from the version's rules text read with the caller's own rows: a
 * connection runs one statement at a time, so a loop over rows must not let
 * ctl_preset_rules() query in the middle of it. */
int  ctl_preset_rules_text(wg_req *r, int64_t version_id, const char *text, size_t len, struct ctl_rules *out);
/* The active version of preset code: its id and number; 422 naming field when unknown. */
int  ctl_preset_active(wg_req *r, const char *code, const char *field, int64_t *version_id, int *number);
int  ctl_team_shape_active(wg_req *r, const char *code, struct ctl_team_shape *out);
int  ctl_config_list(wg_req *r);
int  ctl_config_get(wg_req *r);
int  ctl_config_create(wg_req *r);
int  ctl_config_put(wg_req *r);
int  ctl_config_versions(wg_req *r);
extern const char ctl_kind_preset[], ctl_kind_team_shape[];

/* ---- a control record as the module works with it (records.c) ---- */
struct ctl_record {
	int64_t id, chain_id, person_id, grid_id, version, preset_version_id, site_id, case_id, previous_id;
	char path[WG_MAX_GRID_PATH];
	char name[CTL_MAX_NAME_BYTES];
	char preset[CTL_MAX_CODE + 1];
	int category, mode, status;
	int64_t start_day, end_day, active_from, ended_day;   /* local days; ended_day -1 while active */
};
/* Loads record id in the caller's scope (404 naming field, or none, otherwise). */
int  ctl_record_load(wg_req *r, int64_t id, const char *field, struct ctl_record *rec);
/* The same without a scope check (device events, listeners that checked it already). */
int  ctl_record_load_any(wg_req *r, int64_t id, struct ctl_record *rec);
/* Day of control (1 = the chain's start date) of a local day. */
static inline int64_t ctl_day_no(const struct ctl_record *rec, int64_t day) { return day - rec->start_day + 1; }
/* Adds an entry to the chain's history (control_events). */
int  ctl_history(wg_req *r, const struct ctl_record *rec, const char *action, int from, int to, const char *note,
		 json_t *detail);
/* The node ids of a path "/1/2/3/", root first; returns their count (at most max). */
int  ctl_path_ids(const char *path, int64_t *ids, int max);
/* Shows the name to those who may read persons, masked (张*) to others. */
json_t *ctl_name_json(wg_req *r, const char *name);

/* ---- counters per node and day (counts.c) ---- */
struct ctl_counts;
struct ctl_counts *ctl_counts_new(void);
void ctl_counts_free(struct ctl_counts *c);
size_t ctl_counts_size(const struct ctl_counts *c);
/* Adds n to key on day for the node of path and each of its ancestors. */
void ctl_count(struct ctl_counts *c, const char *path, const char *key, int64_t day, int64_t n);
/* Writes what was counted (in the request's transaction) and empties c. */
int  ctl_counts_flush(wg_req *r, struct ctl_counts *c);
int  ctl_counts_flush_conn(wg_conn *db, struct ctl_counts *c);
/* A record comes into force on its active_from day (head: a new chain, opened today). */
void ctl_count_open(struct ctl_counts *c, const struct ctl_record *rec, const struct ctl_rules *rules, bool head,
		    int64_t today);
/* A record leaves on day: released or closed (the day's work is its own) or transferred (the next record's). */
void ctl_count_leave(struct ctl_counts *c, const struct ctl_record *rec, const struct ctl_rules *rules, int status,
		     int64_t day);
/* A roll-up: one node, one day (see counts.c for what each number means). */
struct ctl_rollup {
	int64_t active, cat[CTL_NCATEGORIES], mode[CTL_NMODES];
	int64_t opened, released, transferred, closed;              /* up to the day */
	int64_t day_opened, day_released, day_transferred, day_closed;
	int64_t checks_due, checks_done, checks, fever, symptom;   /* on the day */
	int64_t nat_due, nat_done, nat_samples, nat_positive;
	int64_t alerts_open, alerts_raised, alerts_handled, alerts_closed;
};
/* The roll-up of a node (path) on day from the counters, or counted from the tables. */
int  ctl_rollup_counters(wg_conn *db, int64_t node_id, int64_t day, struct ctl_rollup *out);
/* The same, always read from the store (what a roll-up costs just after a commit). */
int  ctl_rollup_counters_read(wg_conn *db, int64_t node_id, int64_t day, struct ctl_rollup *out);
int  ctl_rollup_tables(wg_req *r, const char *path, int64_t day, struct ctl_rollup *out);
int  ctl_rollup(wg_req *r);
/* The mass NAT rounds on day covering the node or inside it: residents, sampled, not sampled. */
int  ctl_rounds_for_node(wg_req *r, int64_t node_id, const char *path, int64_t day, json_t **out);
int  ctl_rollup_export(wg_req *r);
/* Counts every node again from the records (after a subtree move; `wangge control recount`). */
int  ctl_recount(wg_conn *db, int64_t *records);

/* ---- control records: the resource (controls.c), team (team.c), transitions (transitions.c) ---- */
extern struct wg_resource ctl_control_resource;
int  ctl_team_fill(wg_req *r, int64_t control_id, const char *path, const char *shape_code);
int  ctl_team_copy(wg_req *r, int64_t from_id, int64_t to_id);
int  ctl_team_put(wg_req *r);
int  ctl_release(wg_req *r);
int  ctl_transfer(wg_req *r);
int  ctl_close(wg_req *r);
int  ctl_conditions(wg_req *r);
int  ctl_history_list(wg_req *r);
/* The release conditions of rec on day: ready or not, and why (a JSON report). */
int  ctl_release_report(wg_req *r, const struct ctl_record *rec, const struct ctl_rules *rules, int64_t day,
			json_t **report, bool *ready);
/* Transfers rec on day into a new active record (mode, grid, site as given); new_id receives it. */
int  ctl_transfer_record(wg_req *r, const struct ctl_record *rec, int mode, int64_t grid_id, int64_t site_id,
			 int64_t day, const char *reason, int64_t *new_id);
/* Opens a record for the listener of case_applied (apply.c), as POST /controls would. */
int  ctl_open_record(wg_req *r, json_t *body, int64_t case_id, int64_t *id);

/* ---- checks and alerts (checks.c, alerts.c) ---- */
int  ctl_check_create(wg_req *r);
int  ctl_check_list(wg_req *r);
int  ctl_checks_day(wg_req *r);
int  ctl_checks_export(wg_req *r);
int  ctl_check_result(wg_req *r);
/* Raises an alert on rec (in the caller's transaction); r->user may be NULL (a device). */
int  ctl_alert_raise(wg_req *r, const struct ctl_record *rec, const char *kind, const char *detail, int64_t check_id,
		     int64_t event_id, int64_t at, struct ctl_counts *cnt, int64_t *alert_id);
int  ctl_alert_list(wg_req *r);
/* The open alerts addressed to the caller (team or escalated), newest first, up to limit; *total counts all. */
int  ctl_alerts_mine(wg_req *r, int limit, json_t **items, int64_t *total);
int  ctl_alert_get(wg_req *r);
int  ctl_alert_handle(wg_req *r);
int  ctl_alert_close(wg_req *r);
int  ctl_alert_export(wg_req *r);

/* ---- the worklist (worklist.c) ---- */
int  ctl_worklist(wg_req *r);

/* ---- case_applied (apply.c) ---- */
int  ctl_on_case_applied(wg_req *r, json_t *payload, json_t *answer);

/* ---- sites (sites.c, stays.c) ---- */
extern struct wg_resource ctl_site_resource;
int  ctl_site_rooms(wg_req *r);
int  ctl_site_rooms_put(wg_req *r);
int  ctl_site_batches(wg_req *r);
int  ctl_site_batch_create(wg_req *r);
int  ctl_site_stays(wg_req *r);
int  ctl_site_intake(wg_req *r);
int  ctl_stay_discharge(wg_req *r);
int  ctl_site_staff(wg_req *r);
int  ctl_site_staff_add(wg_req *r);
int  ctl_site_occupancy(wg_req *r);
/* Ends rec's current stay, if any, on a transfer or release (records.c). */
int  ctl_stay_end(wg_req *r, const struct ctl_record *rec, int64_t at, const char *note);

/* ---- mass NAT rounds (rounds.c, samples.c) ---- */
extern struct wg_resource ctl_round_resource;
struct ctl_round {
	int64_t id, node_id, from, to;   /* from, to: local days */
	bool open;
	char path[WG_MAX_GRID_PATH];
	char name[CTL_MAX_NAME_BYTES];
};
/* A round the caller may work on: their scope holds it or lies inside it (404 otherwise). */
int  ctl_round_load(wg_req *r, int64_t id, struct ctl_round *out);
/* Counts the residents of every node of the round's subtree again (control_nat_nodes). */
int  ctl_round_count(wg_req *r, int64_t round_id, const char *root_path);
int  ctl_round_points(wg_req *r);
int  ctl_round_point_add(wg_req *r);
int  ctl_round_sample(wg_req *r);
int  ctl_round_unsampled(wg_req *r);
int  ctl_round_progress(wg_req *r);
int  ctl_round_refresh(wg_req *r);
/* A sample on its way to the store (sample_writer.c): what the request
 * read off its body, then what the writer found and stored. */
struct ctl_sample_job {
	int64_t round_id, point_id, at, user_id;
	int64_t code_person;             /* the person id a code named; 0: the ID number of code_bidx */
	char code_bidx[WG_BLIND_HEX];
	char scope[WG_MAX_GRID_PATH];    /* the sampler's scope */
	char tube[33], channel[8], username[65], address[48];
	/* found and stored */
	int64_t id, person_id;
	int root_depth;
	char path[WG_MAX_GRID_PATH], round_path[WG_MAX_GRID_PATH], name[CTL_MAX_NAME_BYTES];
	bool duplicate, done;
	int rc;
	struct wg_fail fail;             /* why this sample was refused (rc: its code) */
	wg_req *parked;                  /* the request parked until the batch commits (req_park), else NULL */
	struct ctl_sample_job *next;
};
/* Checks and stores a sample: with the others queued meanwhile, in one
 * transaction on the writer's connection, when serving; else in the
 * request's. In the server the request is parked (req_park) while the
 * writer commits, its thread free; answer(r, rc, job) then sets the
 * answer, rc being the job's outcome (ctl_sample_outcome). Elsewhere it
 * waits in place and answer is called before it returns. */
int  ctl_sample_store(wg_req *r, struct ctl_sample_job *job, int (*answer)(wg_req *r, int rc, void *job));
/* The job's outcome rc as the request's failure (0 when stored): a refused
 * sample says why (job->fail), a failed batch gives its error. */
int  ctl_sample_outcome(wg_req *r, const struct ctl_sample_job *job, int rc);
int  ctl_sample_writer_start(struct wg_app *app);
void ctl_sample_writer_stop(void);
/* What a scanned code names (WG-PERSON:<id>, a person id, an ID number): the
 * person id, or 0 and the ID number's blind index; 422 naming field when unreadable. */
int  ctl_person_code(wg_req *r, const char *code, const char *field, int64_t *person_id, char bidx[WG_BLIND_HEX]);

/* ---- door sensors (devices.c, device_event.c) ---- */
int  ctl_consent_create(wg_req *r);
int  ctl_consent_list(wg_req *r);
int  ctl_consent_withdraw(wg_req *r);
int  ctl_device_events(wg_req *r);
int  ctl_device_create(wg_req *r);
int  ctl_device_list(wg_req *r);
int  ctl_device_retire(wg_req *r);
int  ctl_device_event(wg_req *r);

/* ---- demo (demo.c) ---- */
int  ctl_demo(struct wg_demo *d);

#endif
