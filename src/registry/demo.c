/* The registry's share of `wangge demo`: a synthetic population of the demo
 * county. Households at addresses of the tree's buildings, persons with
 * valid GB 11643 numbers of the county (birth date and gender agreeing),
 * mobile phones, the vulnerable groups the work looks after. A tenth of it
 * lives in the demo community, so that the community's and the grid
 * worker's first screens have people in them. Deterministic for a seed. */
#include "registry/registry_int.h"
#include "core/app/app.h"
#include "core/lib/crypt.h"
#include "core/lib/err.h"
#include "core/lib/ident.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <stdio.h>
#include <string.h>

static const char *const surnames[] = {
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高",
	"林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁",
	"潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "沈", "姚", "卢", "姜", "崔", "陆", "顾",
};
static const char *const male_given[] = {
	"伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞", "鑫", "波",
	"建国", "建华", "志强", "海涛", "国庆", "卫东", "永刚", "俊杰", "浩然", "子轩", "宇航", "文博",
};
static const char *const female_given[] = {
	"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "桂英", "秀英", "秀兰", "玉兰", "丽娟", "春梅",
	"海燕", "雪梅", "晓红", "美玲", "欣怡", "梓涵", "诗涵", "雨桐", "紫萱", "思琪",
};
static const char *const mobile_prefixes[] = {
	"138", "139", "137", "136", "135", "150", "151", "152", "157", "158", "159", "182", "187", "188", "180",
	"181", "185", "186", "189", "155", "156", "133", "153", "177", "173", "199", "198", "166",
};

#define PICK(list, rnd) (list)[(rnd) % (sizeof (list) / sizeof (list)[0])]
#define DEMO_FIRST_BIRTH_YEAR 1926
#define DEMO_DAYS 40000   /* birth dates counted from DEMO_FIRST_BIRTH_YEAR: room for a century */

struct building {
	int64_t id;
	char path[WG_MAX_GRID_PATH];
	char place[256];     /* "沟墩镇兴阜居委会第1网格2号楼" */
	unsigned homes;      /* households made here so far */
	bool home_community; /* in the demo community */
};

struct population {
	struct wg_demo *d;
	uint64_t rnd;
	struct building *b;
	size_t nb, nhome;     /* buildings, of which in the demo community */
	uint16_t *seq;        /* per birth day: ID numbers issued (the 3-digit sequence) */
	int64_t today;        /* days since 1970 */
	uint64_t persons, households;
};

static uint64_t next(struct population *p)
{
	p->rnd ^= p->rnd << 13;
	p->rnd ^= p->rnd >> 7;
	p->rnd ^= p->rnd << 17;
	return p->rnd;
}

/* Every building of the county, with the places above it for its address. */
static int load_buildings(struct population *p)
{
	wg_stmt *s;
	size_t cap = 0;
	wg_param q[] = { WG_PINT(p->d->scope[2]) };
	int rc = store_query(p->d->c,
		"SELECT b.id, b.path, t.name || v.name || g.name || b.name, CASE WHEN v.id = ? THEN 1 ELSE 0 END"
		" FROM grid_nodes b"
		" JOIN grid_nodes g ON g.id = b.parent_id JOIN grid_nodes v ON v.id = g.parent_id"
		" JOIN grid_nodes t ON t.id = v.parent_id WHERE b.kind = 'building' ORDER BY b.id", q, 1, &s);
	if (rc)
		return rc;
	while ((rc = stmt_next(s)) == 1) {
		if (p->nb == cap) {
			cap = cap ? cap * 2 : 4096;
			struct building *b = wg_realloc(p->b, cap * sizeof *b);
			if (!b) {
				rc = -WG_ERR_NOMEM;
				break;
			}
			p->b = b;
		}
		struct building *b = &p->b[p->nb++];
		b->id = stmt_int(s, 0);
		wg_copy_text(b->path, sizeof b->path, stmt_text(s, 1));
		wg_copy_text(b->place, sizeof b->place, stmt_text(s, 2));
		b->homes = 0;
		b->home_community = stmt_int(s, 3) != 0;
		p->nhome += b->home_community;
	}
	stmt_done(s);
	return rc < 0 ? -rc : 0;
}

static struct building *choose_building(struct population *p)
{
	/* A tenth of the people live in the demo community (its buildings come first in id order). */
	if (p->nhome && next(p) % 10 == 0) {
		size_t k = next(p) % p->nhome, seen = 0;
		for (size_t i = 0; i < p->nb; i++)
			if (p->b[i].home_community && seen++ == k)
				return &p->b[i];
	}
	return &p->b[next(p) % p->nb];
}

/* A valid 18-character number: the county's region, the birth date, a sequence
 * of that day (odd for men), the check character. */
static int make_id(struct population *p, int64_t birth_day, bool male, char out[19])
{
	int y, m, d;
	size_t slot = (size_t)(birth_day - wg_days_from_civil(DEMO_FIRST_BIRTH_YEAR, 1, 1));
	if (slot >= DEMO_DAYS || p->seq[slot] >= 498)
		return WG_ERR_TOO_LARGE;
	unsigned seq = 2u * p->seq[slot]++ + (male ? 1u : 2u);
	wg_civil_from_days(birth_day, &y, &m, &d);
	char digits[40];
	snprintf(digits, sizeof digits, "%.6s%04d%02d%02d%03u", p->d->county, y % 10000, m % 100, d % 100, seq % 1000);
	memcpy(out, digits, 17);
	out[17] = ident_id_check_char(digits);
	out[18] = '\0';
	return 0;
}

static void make_phone(struct population *p, char out[12])
{
	snprintf(out, 12, "%s%08llu", PICK(mobile_prefixes, next(p)), (unsigned long long)(next(p) % 100000000ull));
}

/* The groups the work looks after, by age and chance. */
/* A key group the county added itself (字典管理), as a real county does. */
#define DEMO_COUNTY_TAG "外来务工人员"

static int add_county_tag(struct population *p)
{
	wg_param q[] = { WG_PTEXT(DEMO_COUNTY_TAG), WG_PTEXT(DEMO_COUNTY_TAG), WG_PINT(p->d->now), WG_PINT(p->d->now) };
	return store_run(p->d->c, "INSERT INTO dict_entries (resource, field, value, label, label_en, sort, created_at, updated_at)"
				  " VALUES ('persons', 'tags', ?, ?, 'migrant worker', 0, ?, ?) ON CONFLICT (resource, field, value) DO NOTHING", q, 4);
}

static void make_tags(struct population *p, int age, bool alone, char *out, size_t size)
{
	const char *tags[6];
	size_t n = 0, used = 0;
	uint64_t x = next(p) % 1000;
	if (age >= 70 && alone)
		tags[n++] = "独居老人";
	if (age >= 75 && x < 60)
		tags[n++] = "特困老人";
	if (x >= 60 && x < 90)
		tags[n++] = "低保对象";
	if (age < 16 && x >= 90 && x < 105)
		tags[n++] = "困境儿童";
	if (age >= 50 && x >= 105 && x < 255)
		tags[n++] = "慢性病";
	if (x >= 255 && x < 270)
		tags[n++] = "重病重残";
	if (age >= 18 && age < 60 && x >= 270 && x < 300)
		tags[n++] = DEMO_COUNTY_TAG;
	if (age >= 18 && x >= 300 && x < 380)
		tags[n++] = "党员";
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + used, size - used, "%s%s,", used ? "" : ",", tags[i]);
		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
	}
}

static int sealed(struct population *p, const char *column, const char *plain, char **enc, char bidx[WG_BLIND_HEX])
{
	wg_buf b = WG_BUF_INIT(512);
	int rc = crypt_encrypt(&p->d->app->keys, column, plain, strlen(plain), &b);
	crypt_blind_index(&p->d->app->keys, column, plain, strlen(plain), bidx);
	*enc = rc ? NULL : wg_buf_detach(&b, NULL);
	wg_buf_release(&b);
	return rc ? rc : *enc ? 0 : WG_ERR_NOMEM;
}

struct member {
	int age;
	bool male;
};

static int add_person(struct population *p, const struct building *b, int64_t household, const struct member *m,
		      bool alone, const char *surname, int64_t *id)
{
	char idn[19], phone[12], name[64], tags[160], birth[WG_DATE_TEXT], bidx_id[WG_BLIND_HEX], bidx_phone[WG_BLIND_HEX];
	char *enc_id = NULL, *enc_phone = NULL;
	int y, mo, d;
	int64_t birth_day = p->today - (int64_t)m->age * 365 - (int64_t)(next(p) % 365);
	int rc = make_id(p, birth_day, m->male, idn);
	if (rc)
		return rc;
	wg_civil_from_days(birth_day, &y, &mo, &d);
	wg_format_date(birth, y, mo, d);
	snprintf(name, sizeof name, "%s%s", surname, m->male ? PICK(male_given, next(p)) : PICK(female_given, next(p)));
	bool has_phone = m->age >= 12 && m->age < 85;
	make_phone(p, phone);
	make_tags(p, m->age, alone, tags, sizeof tags);
	/* Most are at home; some work away, some came back, some came from elsewhere. */
	static const char *const residence[] = { "resident", "resident", "resident", "resident", "resident", "resident",
						  "resident", "migrant", "away", "returned" };
	const char *lives = PICK(residence, next(p));   /* once: WG_PTEXT reads its argument twice */
	rc = sealed(p, "id_number", idn, &enc_id, bidx_id);
	if (!rc && has_phone)
		rc = sealed(p, "phone", phone, &enc_phone, bidx_phone);
	wg_param q[] = { WG_PINT(b->id), WG_PTEXT(b->path), WG_PINT(household), WG_PTEXT(name), WG_PTEXT(enc_id ? enc_id : ""),
			 WG_PTEXT(bidx_id), has_phone ? WG_PTEXT(enc_phone) : WG_PNULL, has_phone ? WG_PTEXT(bidx_phone) : WG_PNULL,
			 WG_PTEXT(m->male ? "male" : "female"), WG_PTEXT(birth), WG_PTEXT(lives), WG_PTEXT(tags),
			 WG_PINT(p->d->now), WG_PINT(p->d->now) };
	if (!rc)
		rc = store_insert(p->d->c, "INSERT INTO persons (grid_id, node_path, household_id, name, id_number_enc, id_number_bidx,"
				  " phone_enc, phone_bidx, gender, birth_date, residence, tags, created_at, updated_at)"
				  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", q, 14, id);
	wg_free(enc_id);
	wg_free(enc_phone);
	p->persons += !rc;
	return rc;
}

/* One household: its address in the building, its members, its head. */
static int add_household(struct population *p, uint64_t size)
{
	static const unsigned sizes[] = { 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5 };
	struct building *b = choose_building(p);
	unsigned k = b->homes++, members = PICK(sizes, next(p));
	if (members > size)
		members = (unsigned)size;
	char address[400];
	snprintf(address, sizeof address, "%s%u单元%u%02u室", b->place, k / 12 + 1, k % 12 / 2 + 1, k % 2 + 1);
	int64_t household, head = 0;
	wg_param q[] = { WG_PINT(b->id), WG_PTEXT(b->path), WG_PTEXT(address), WG_PINT(p->d->now), WG_PINT(p->d->now) };
	int rc = store_insert(p->d->c, "INSERT INTO households (grid_id, node_path, address, created_at, updated_at)"
			      " VALUES (?, ?, ?, ?, ?)", q, 5, &household);
	/* A married woman keeps her surname; the children take their father's. */
	const char *surname = PICK(surnames, next(p)), *spouse = PICK(surnames, next(p));
	struct member m = { 25 + (int)(next(p) % 60), next(p) % 2 == 0 };
	for (unsigned i = 0; !rc && i < members; i++) {
		struct member who = m;
		if (i == 1) {               /* the spouse */
			who.male = !m.male;
			who.age = m.age - 3 + (int)(next(p) % 7);
		} else if (i >= 2) {        /* the children */
			who.male = next(p) % 2 == 0;
			who.age = m.age - 22 - (int)(next(p) % 14);
			if (who.age < 0)
				who.age = (int)(next(p) % 6);
		}
		int64_t id;
		const char *family = i == 0 ? surname : i == 1 ? spouse : m.male ? surname : spouse;
		rc = add_person(p, b, household, &who, members == 1, family, &id);
		if (!head)
			head = id;
	}
	wg_param h[] = { WG_PINT(head), WG_PINT(household) };
	if (!rc)
		rc = store_run(p->d->c, "UPDATE households SET head_person_id = ? WHERE id = ?", h, 2);
	p->households += !rc;
	return rc;
}

int registry_demo(struct wg_demo *d)
{
	struct population p = { .d = d, .rnd = d->seed * 2654435761u + 1, .today = d->now / 86400 };
	if (d->persons == 0)
		return 0;
	p.seq = wg_calloc(DEMO_DAYS, sizeof *p.seq);
	int rc = p.seq ? load_buildings(&p) : WG_ERR_NOMEM;
	if (!rc)
		rc = add_county_tag(&p);
	if (!rc && p.nb == 0)
		rc = (wg_error("the demo county has no buildings / 演示县没有楼栋"), WG_ERR_INTERNAL);
	while (!rc && p.persons < d->persons)
		rc = add_household(&p, d->persons - p.persons);
	if (!rc && d->persons >= 100000)
		rc = store_run(d->c, "ANALYZE", NULL, 0);
	if (!rc)
		printf("demo: %llu persons in %llu households / 演示人口已生成\n", (unsigned long long)p.persons,
		       (unsigned long long)p.households);
	wg_free(p.seq);
	wg_free(p.b);
	return rc;
}
