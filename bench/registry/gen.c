/* Generates a roster of N persons as CSV (UTF-8), deterministic for a seed:
 * valid, unique ID numbers, mobiles, dates, addresses and the demo county's
 * grid codes (village code + 8-digit serial), grouped by grid and by
 * household as a community's roster is.
 *   gen N SEED VILLAGES_CSV > persons.csv */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state;
static uint64_t rnd(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static const char *const surnames[] = { "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭" };
static const char *const given[] = { "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华", "建国" };
static const char *const tags[] = { "", "", "", "", "低保对象", "独居老人", "慢性病", "特困老人", "孕产妇", "低保对象、独居老人" };
static const char *const mobile_prefixes[] = { "130", "131", "132", "133", "135", "136", "137", "138", "139", "150",
						"151", "152", "153", "155", "156", "157", "158", "159", "180", "181",
						"182", "183", "185", "186", "187", "188", "189", "199" };
static const char *const residences[] = { "常住", "常住", "常住", "流动", "外出", "返乡" };

static void civil(long days, int *y, int *m, int *d)
{
	long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return fprintf(stderr, "usage: gen N SEED VILLAGES_CSV\n"), 2;
	long n = strtol(argv[1], NULL, 10);
	state = strtoull(argv[2], NULL, 10) | 1;
	FILE *f = fopen(argv[3], "r");
	if (!f)
		return perror(argv[3]), 1;
	char line[512], (*villages)[13] = malloc(1000 * 13);
	int nv = 0;
	while (fgets(line, sizeof line, f) && nv < 1000)
		if (strncmp(line, "320923", 6) == 0 && line[12] == ',') {
			memcpy(villages[nv], line, 12);
			villages[nv++][12] = '\0';
		}
	fclose(f);
	static const int weights[] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	printf("姓名,性别,身份证号,联系电话,出生日期,现住址,网格编码,居住状态,重点人群\n");
	/* As a community's roster reads: grid after grid, a household's members
	 * on consecutive rows at one address (1 to 5 people, 2.6 on average). */
	static const int family[] = { 1, 1, 2, 2, 2, 3, 3, 3, 4, 5 };
	long ngrids = (long)nv * 12, household = 0;
	int left = 0, grid_no = 0, street = 0, house = 0;
	const char *village = villages[0];
	for (long i = 0; i < n; i++) {
		if (left == 0) {
			long g = i * ngrids / n;
			village = villages[g / 12];
			grid_no = 1 + (int)(g % 12);
			left = family[rnd() % 10];
			household++;
			street = 1 + (int)(household % 40);
			house = 1 + (int)(household / 40 % 10000);
		}
		left--;
		/* unique: day of birth from i, sequence from i / 25000 */
		long day = -10957 + (i % 25000);   /* from 1940-01-01 */
		int seq = (int)((i / 25000) % 1000), y, m, d;
		civil(day, &y, &m, &d);
		char id[32];
		snprintf(id, sizeof id, "320923%04d%02d%02d%03d", y, m, d, seq);
		int sum = 0;
		for (int k = 0; k < 17; k++)
			sum += (id[k] - '0') * weights[k];
		id[17] = "10X98765432"[sum % 11];
		id[18] = '\0';
		printf("%s%s,%s,%s,%s%08llu,%04d-%02d-%02d,%s%d组%d号,%s%08d,%s,%s\n",
		       surnames[rnd() % 16], given[rnd() % 20], seq % 2 ? "男" : "女", id,
		       mobile_prefixes[rnd() % 28], (unsigned long long)(rnd() % 100000000ull), y, m, d,
		       "阜宁县沟墩镇", street, house, village, grid_no,
		       residences[rnd() % 6], tags[rnd() % 10]);
	}
	free(villages);
	return 0;
}
