/* Identity validators: 身份证号, phones, credit codes, plates, names, masks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/lib/ident.h"

#include <stdio.h>
#include <string.h>

static int64_t today(void) { return ident_days(2024, 6, 1); }

/* 17 digits + the right check character. */
static void make_id(const char *digits17, char out[19])
{
	memcpy(out, digits17, 17);
	out[17] = ident_id_check_char(digits17);
	out[18] = '\0';
}

static enum ident_status id_check(const char *s, struct ident_id *out)
{
	struct ident_id_opts o = { today(), NULL, NULL, false };
	return ident_id_check(s, strlen(s), &o, out);
}

static void test_id_valid(void **state)
{
	(void)state;
	struct ident_id id;
	assert_int_equal(id_check("11010519491231002X", &id), IDENT_OK);
	assert_string_equal(id.id, "11010519491231002X");
	assert_false(id.changed);
	assert_int_equal(id.gender, IDENT_GENDER_FEMALE);
	assert_int_equal(id.birth_year, 1949);
	assert_int_equal(id.birth_month, 12);
	assert_int_equal(id.birth_day, 31);
	assert_int_equal(id.region, 110105);

	assert_int_equal(id_check("32092319631102441X", &id), IDENT_OK);
	assert_int_equal(id.gender, IDENT_GENDER_MALE);
	assert_int_equal(id_check("320923197701165255", &id), IDENT_OK);
	assert_int_equal(id.gender, IDENT_GENDER_MALE);
}

static void test_id_normalised(void **state)
{
	(void)state;
	static const char *const inputs[] = {
		"11010519491231002x",
		" 11010519491231002X ",
		"\t11010519491231002X\r\n",
		"\xe3\x80\x80" "11010519491231002X" "\xe3\x80\x80", /* U+3000 around */
		"\xef\xbc\x91\xef\xbc\x91\xef\xbc\x90\xef\xbc\x91\xef\xbc\x90\xef\xbc\x95"
		"\xef\xbc\x91\xef\xbc\x99\xef\xbc\x94\xef\xbc\x99\xef\xbc\x91\xef\xbc\x92"
		"\xef\xbc\x93\xef\xbc\x91\xef\xbc\x90\xef\xbc\x90\xef\xbc\x92\xef\xbd\x98", /* full-width, ｘ */
		"１１０１０５１９４９１２３１００２Ｘ",
		"110105 19491231 002X",                            /* typed in groups */
		"110105-19491231-002X",
	};
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		struct ident_id id;
		assert_int_equal(id_check(inputs[i], &id), IDENT_OK);
		assert_string_equal(id.id, "11010519491231002X");
		assert_true(id.changed);
	}
}

struct id_case {
	const char *in;
	enum ident_status want;
};

static void test_id_invalid(void **state)
{
	(void)state;
	char feb29_common[19], feb29_leap[19], future[19], year1700[19], month13[19];
	make_id("32092319010229123", feb29_common);
	make_id("32092320000229123", feb29_leap);
	make_id("32092320990101123", future);
	make_id("32092317000101123", year1700);
	make_id("32092319901301123", month13);
	const struct id_case cases[] = {
		{ "", IDENT_EMPTY },
		{ "   ", IDENT_EMPTY },
		{ "11010519491231002", IDENT_ID_LENGTH },          /* 17 digits */
		{ "11010519491231002XX", IDENT_ID_LENGTH },        /* 19 characters */
		{ "1101051949123100211", IDENT_ID_LENGTH },        /* 19 digits */
		{ "110105194912310021", IDENT_ID_CHECK_DIGIT },
		{ "110105194912310022", IDENT_ID_CHECK_DIGIT },
		{ "1101051949123100A1", IDENT_ID_BAD_CHAR },
		{ "11010519491231X021", IDENT_ID_BAD_CHAR },
		{ "3.20923E+17", IDENT_ID_EXCEL_NUMBER },
		{ "3.20923197701165e+17", IDENT_ID_EXCEL_NUMBER },
		{ "320923201008035232", IDENT_OK },
		{ feb29_common, IDENT_ID_BIRTH_DATE },
		{ feb29_leap, IDENT_OK },
		{ future, IDENT_ID_BIRTH_FUTURE },
		{ year1700, IDENT_ID_BIRTH_DATE },
		{ month13, IDENT_ID_BIRTH_DATE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ident_id id;
		enum ident_status st = id_check(cases[i].in, &id);
		if (st != cases[i].want)
			fail_msg("%s: got %s, want %s", cases[i].in, ident_status_code(st),
			         ident_status_code(cases[i].want));
		if (st != IDENT_OK)
			assert_string_equal(id.id, "");
	}
}

static void test_id_future_skipped(void **state)
{
	(void)state;
	char future[19];
	struct ident_id id;
	struct ident_id_opts o = { -1, NULL, NULL, false };
	make_id("32092320990101123", future);
	assert_int_equal(ident_id_check(future, 18, &o, &id), IDENT_OK);
	o.today = ident_days(2099, 1, 1);
	assert_int_equal(ident_id_check(future, 18, &o, &id), IDENT_OK);
	o.today = ident_days(2098, 12, 31);
	assert_int_equal(ident_id_check(future, 18, &o, &id), IDENT_ID_BIRTH_FUTURE);
}

static void test_id_from_number(void **state)
{
	(void)state;
	struct ident_id id;
	struct ident_id_opts o = { today(), NULL, NULL, true };
	assert_int_equal(ident_id_check("320923197701165000", 18, &o, &id), IDENT_ID_EXCEL_NUMBER);
	assert_int_equal(ident_id_check("3.20923E+17", 11, &o, &id), IDENT_ID_EXCEL_NUMBER);
	assert_int_equal(ident_id_check("320923197701165", 15, &o, &id), IDENT_ID_EXCEL_NUMBER);
	assert_int_equal(ident_id_check("12345", 5, &o, &id), IDENT_ID_LENGTH);
	assert_non_null(strstr(ident_status_en(IDENT_ID_EXCEL_NUMBER), "must be text"));
	assert_non_null(strstr(ident_status_zh(IDENT_ID_EXCEL_NUMBER), "文本"));
}

static bool only_110105(uint32_t code, void *ctx)
{
	int *calls = ctx;
	(*calls)++;
	return code == 110105;
}

static void test_id_region(void **state)
{
	(void)state;
	int calls = 0;
	struct ident_id id;
	struct ident_id_opts o = { today(), only_110105, &calls, false };
	assert_int_equal(ident_id_check("11010519491231002X", 18, &o, &id), IDENT_OK);
	assert_int_equal(ident_id_check("320923197701165255", 18, &o, &id), IDENT_ID_REGION);
	assert_int_equal(calls, 2);
	assert_int_equal(ident_id_check("11010519491231002X", 18, NULL, &id), IDENT_OK);
}

static void test_id_messages(void **state)
{
	(void)state;
	assert_string_equal(ident_status_zh(IDENT_ID_CHECK_DIGIT), "身份证号校验位错误");
	assert_string_equal(ident_status_en(IDENT_ID_CHECK_DIGIT), "wrong check digit in the ID number");
	assert_non_null(strstr(ident_status_zh(IDENT_ID_LENGTH), "长度应为18位"));
	assert_non_null(strstr(ident_status_zh(IDENT_ID_BIRTH_DATE), "出生日期无效"));
	assert_non_null(strstr(ident_status_zh(IDENT_ID_BAD_CHAR), "非法字符"));
	assert_non_null(strstr(ident_status_zh(IDENT_ID_REGION), "地区码未知"));
	assert_string_equal(ident_status_code(IDENT_ID_CHECK_DIGIT), "id_check_digit");
	assert_string_equal(ident_status_code(IDENT_GENDER_INVALID), "gender_invalid");
	for (int i = 0; i < IDENT__COUNT; i++) {
		assert_non_null(ident_status_zh((enum ident_status)i));
		assert_non_null(ident_status_en((enum ident_status)i));
	}
}

/* ---- phones ---- */

static bool prefix_valid(int p) /* p = the first three digits, 100..199 */
{
	static const char *const ok =
		"130 131 132 133 134 135 136 137 138 139 145 146 147 148 149 150 151 152 153 155 156 157 "
		"158 159 162 165 166 167 170 171 172 173 174 175 176 177 178 180 181 182 183 184 185 186 "
		"187 188 189 190 191 192 193 195 196 197 198 199";
	char s[16];
	snprintf(s, sizeof s, "%d", p);
	return strstr(ok, s) != NULL;
}

static void test_mobile_prefixes(void **state)
{
	(void)state;
	for (int p = 100; p <= 199; p++) {
		char num[32];
		struct ident_phone ph;
		snprintf(num, sizeof num, "%d12345678", p);
		enum ident_status st = ident_mobile_check(num, strlen(num), &ph);
		if ((st == IDENT_OK) != prefix_valid(p))
			fail_msg("prefix %d: got %s", p, ident_status_code(st));
		if (st == IDENT_OK) {
			assert_int_equal(ph.kind, IDENT_PHONE_MOBILE);
			assert_string_equal(ph.number, num);
			assert_false(ph.changed);
		}
	}
}

struct phone_case {
	const char *in;
	enum ident_status want;
	enum ident_phone_kind kind;
	const char *norm;
	bool changed;
};

static void test_phone_forms(void **state)
{
	(void)state;
	const struct phone_case cases[] = {
		{ "13812345678", IDENT_OK, IDENT_PHONE_MOBILE, "13812345678", false },
		{ "138-1234-5678", IDENT_OK, IDENT_PHONE_MOBILE, "13812345678", true },
		{ "138 1234 5678", IDENT_OK, IDENT_PHONE_MOBILE, "13812345678", true },
		{ " 13812345678 ", IDENT_OK, IDENT_PHONE_MOBILE, "13812345678", true },
		{ "+86 138 1234 5678", IDENT_OK, IDENT_PHONE_MOBILE, "13812345678", true },
		{ "+8613812345678", IDENT_OK, IDENT_PHONE_MOBILE, "13812345678", true },
		{ "8613812345678", IDENT_OK, IDENT_PHONE_MOBILE, "13812345678", true },
		{ "008613812345678", IDENT_OK, IDENT_PHONE_MOBILE, "13812345678", true },
		{ "１３８１２３４５６７８", IDENT_OK, IDENT_PHONE_MOBILE, "13812345678", true },
		{ "138\xe2\x80\x94" "1234\xe2\x80\x94" "5678", IDENT_OK, IDENT_PHONE_MOBILE, "13812345678", true },
		{ "0515-87212345", IDENT_OK, IDENT_PHONE_LANDLINE, "0515-87212345", false },
		{ "0515-87212345-801", IDENT_OK, IDENT_PHONE_LANDLINE, "0515-87212345-801", false },
		{ "0515-87212345转801", IDENT_OK, IDENT_PHONE_LANDLINE, "0515-87212345-801", true },
		{ "(0515)87212345", IDENT_OK, IDENT_PHONE_LANDLINE, "0515-87212345", true },
		{ "（0515）87212345", IDENT_OK, IDENT_PHONE_LANDLINE, "0515-87212345", true },
		{ "0515 87212345", IDENT_OK, IDENT_PHONE_LANDLINE, "0515-87212345", true },
		{ "051587212345", IDENT_OK, IDENT_PHONE_LANDLINE, "0515-87212345", true },
		{ "０５１５－８７２１２３４５", IDENT_OK, IDENT_PHONE_LANDLINE, "0515-87212345", true },
		{ "010-62345678", IDENT_OK, IDENT_PHONE_LANDLINE, "010-62345678", false },
		{ "01062345678", IDENT_OK, IDENT_PHONE_LANDLINE, "010-62345678", true },
		{ "025-8721234", IDENT_OK, IDENT_PHONE_LANDLINE, "025-8721234", false },
		{ "", IDENT_EMPTY, IDENT_PHONE_NONE, "", false },
		{ "1381234567", IDENT_PHONE_INVALID, IDENT_PHONE_NONE, "", false },
		{ "138123456789", IDENT_PHONE_INVALID, IDENT_PHONE_NONE, "", false },
		{ "12812345678", IDENT_PHONE_INVALID, IDENT_PHONE_NONE, "", false },
		{ "515-87212345", IDENT_PHONE_INVALID, IDENT_PHONE_NONE, "", false },
		{ "0515-872123", IDENT_PHONE_INVALID, IDENT_PHONE_NONE, "", false },
		{ "0515-872123456", IDENT_PHONE_INVALID, IDENT_PHONE_NONE, "", false },
		{ "87212345", IDENT_PHONE_INVALID, IDENT_PHONE_NONE, "", false },
		{ "138abc45678", IDENT_PHONE_INVALID, IDENT_PHONE_NONE, "", false },
		{ "3.20923E+17", IDENT_PHONE_INVALID, IDENT_PHONE_NONE, "", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ident_phone ph;
		const struct phone_case *c = &cases[i];
		enum ident_status st = ident_phone_check(c->in, strlen(c->in), &ph);
		if (st != c->want)
			fail_msg("%s: got %s", c->in, ident_status_code(st));
		assert_int_equal(ph.kind, c->kind);
		if (st == IDENT_OK) {
			assert_string_equal(ph.number, c->norm);
			if (ph.changed != c->changed)
				fail_msg("%s: changed=%d", c->in, ph.changed);
		}
	}
	struct ident_phone ph;
	assert_int_equal(ident_mobile_check("0515-87212345", 13, &ph), IDENT_MOBILE_INVALID);
}

/* ---- credit codes, plates, names ---- */

static void test_credit(void **state)
{
	(void)state;
	struct ident_credit c;
	assert_int_equal(ident_credit_check("91110000802100433B", 18, &c), IDENT_OK);
	assert_false(c.changed);
	assert_int_equal(ident_credit_check("91320923MA1XYR123T", 18, &c), IDENT_OK);
	assert_int_equal(ident_credit_check("12100000400000624D", 18, &c), IDENT_OK);
	assert_int_equal(ident_credit_check("9132092" "3MA2ABCDE19", 18, &c), IDENT_OK);
	assert_int_equal(ident_credit_check(" 91110000802100433b", 19, &c), IDENT_OK);
	assert_true(c.changed);
	assert_string_equal(c.code, "91110000802100433B");
	assert_int_equal(ident_credit_check("91110000802100433C", 18, &c), IDENT_CREDIT_CHECK);
	assert_true(ident_status_is_warning(IDENT_CREDIT_CHECK));
	assert_string_equal(c.code, "91110000802100433C");
	assert_int_equal(ident_credit_check("9111000080210043", 16, &c), IDENT_CREDIT_LENGTH);
	assert_int_equal(ident_credit_check("91110000802100433I", 18, &c), IDENT_CREDIT_BAD_CHAR);
	assert_int_equal(ident_credit_check("9111000080210O433B", 18, &c), IDENT_CREDIT_BAD_CHAR);
	assert_int_equal(ident_credit_check("", 0, &c), IDENT_EMPTY);
	assert_false(ident_status_is_warning(IDENT_CREDIT_BAD_CHAR));
}

static void test_plates(void **state)
{
	(void)state;
	struct { const char *in; enum ident_status want; const char *norm; bool ne; } cases[] = {
		{ "苏J12345", IDENT_OK, "苏J12345", false },
		{ "苏JA1B2C", IDENT_OK, "苏JA1B2C", false },
		{ "苏JD12345", IDENT_OK, "苏JD12345", true },
		{ "苏J12345F", IDENT_OK, "苏J12345F", true },
		{ "苏J·12345", IDENT_OK, "苏J12345", false },
		{ "苏j 12345", IDENT_OK, "苏J12345", false },
		{ "京Ａ１２３４５", IDENT_OK, "京A12345", false },
		{ "苏JI2345", IDENT_PLATE_INVALID, "", false },
		{ "苏JO2345", IDENT_PLATE_INVALID, "", false },
		{ "苏I12345", IDENT_PLATE_INVALID, "", false },
		{ "苏J1234", IDENT_PLATE_INVALID, "", false },
		{ "苏J123456", IDENT_PLATE_INVALID, "", false },
		{ "苏J1234567", IDENT_PLATE_INVALID, "", false },
		{ "X J12345", IDENT_PLATE_INVALID, "", false },
		{ "港J12345", IDENT_PLATE_INVALID, "", false },
		{ "苏112345", IDENT_PLATE_INVALID, "", false },
		{ "", IDENT_EMPTY, "", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ident_plate p;
		enum ident_status st = ident_plate_check(cases[i].in, strlen(cases[i].in), &p);
		if (st != cases[i].want)
			fail_msg("%s: got %s", cases[i].in, ident_status_code(st));
		if (st == IDENT_OK) {
			assert_string_equal(p.plate, cases[i].norm);
			assert_int_equal(p.new_energy, cases[i].ne);
		}
	}
}

static void test_names(void **state)
{
	(void)state;
	struct { const char *in; enum ident_status want; const char *norm; bool changed; } cases[] = {
		{ "张三", IDENT_OK, "张三", false },
		{ " 张三 ", IDENT_OK, "张三", true },
		{ "阿卜杜热合曼·买买提", IDENT_OK, "阿卜杜热合曼·买买提", false },
		{ "阿卜杜热合曼・买买提", IDENT_OK, "阿卜杜热合曼·买买提", true },
		{ "阿卜杜热合曼•买买提", IDENT_OK, "阿卜杜热合曼·买买提", true },
		{ "John Smith", IDENT_OK, "John Smith", false },
		{ "张3", IDENT_NAME_BAD_CHAR, "", false },
		{ "张３", IDENT_NAME_BAD_CHAR, "", false },
		{ "张\x01三", IDENT_NAME_BAD_CHAR, "", false },
		{ "张三,李四", IDENT_NAME_BAD_CHAR, "", false },
		{ "·买买提", IDENT_NAME_BAD_CHAR, "", false },
		{ "买买提·", IDENT_NAME_BAD_CHAR, "", false },
		{ "买··提", IDENT_NAME_BAD_CHAR, "", false },
		{ "\xff\xfe", IDENT_NAME_ENCODING, "", false },
		{ "张\xe4\xb8", IDENT_NAME_ENCODING, "", false },
		{ "", IDENT_EMPTY, "", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ident_name nm;
		enum ident_status st = ident_name_check(cases[i].in, strlen(cases[i].in), &nm);
		if (st != cases[i].want)
			fail_msg("case %zu: got %s", i, ident_status_code(st));
		if (st == IDENT_OK) {
			assert_string_equal(nm.name, cases[i].norm);
			assert_int_equal(nm.changed, cases[i].changed);
		}
	}
	char fifty[200] = "", fiftyone[210];
	for (int i = 0; i < 50; i++)
		memcpy(fifty + i * 3, "张", 3);
	fifty[150] = '\0';
	snprintf(fiftyone, sizeof fiftyone, "%s李", fifty);
	struct ident_name nm;
	assert_int_equal(ident_name_check(fifty, strlen(fifty), &nm), IDENT_OK);
	assert_int_equal(ident_name_check(fiftyone, strlen(fiftyone), &nm), IDENT_NAME_LENGTH);
}

static void test_dates_and_gender(void **state)
{
	(void)state;
	struct { const char *in; enum ident_status want; int y, m, d; } cases[] = {
		{ "1955/05/05", IDENT_OK, 1955, 5, 5 },
		{ "2009年01月14日", IDENT_OK, 2009, 1, 14 },
		{ "1990年1月31日", IDENT_OK, 1990, 1, 31 },
		{ "1965-07-01", IDENT_OK, 1965, 7, 1 },
		{ "1961.03.01", IDENT_OK, 1961, 3, 1 },
		{ "19610301", IDENT_OK, 1961, 3, 1 },
		{ " 1990/1/31 ", IDENT_OK, 1990, 1, 31 },
		{ "１９９０－０１－３１", IDENT_OK, 1990, 1, 31 },
		{ "1985-06-31", IDENT_DATE_NO_SUCH_DAY, 0, 0, 0 },   /* the form is right, the day does not exist */
		{ "1901-02-29", IDENT_DATE_NO_SUCH_DAY, 0, 0, 0 },
		{ "2000-02-29", IDENT_OK, 2000, 2, 29 },
		{ "1990-01/31", IDENT_DATE_INVALID, 0, 0, 0 },
		{ "1990年1月", IDENT_DATE_INVALID, 0, 0, 0 },
		{ "2099-01-01", IDENT_DATE_FUTURE, 0, 0, 0 },
		{ "abc", IDENT_DATE_INVALID, 0, 0, 0 },
		{ "", IDENT_EMPTY, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int y = 0, m = 0, d = 0;
		enum ident_status st = ident_date_parse(cases[i].in, strlen(cases[i].in), today(), &y, &m, &d);
		if (st != cases[i].want)
			fail_msg("%s: got %s", cases[i].in, ident_status_code(st));
		if (st == IDENT_OK) {
			assert_int_equal(y, cases[i].y);
			assert_int_equal(m, cases[i].m);
			assert_int_equal(d, cases[i].d);
		}
	}
	enum ident_gender g;
	assert_int_equal(ident_gender_parse("男", 3, &g), IDENT_OK);
	assert_int_equal(g, IDENT_GENDER_MALE);
	assert_int_equal(ident_gender_parse(" 女 ", 5, &g), IDENT_OK);
	assert_int_equal(g, IDENT_GENDER_FEMALE);
	assert_int_equal(ident_gender_parse("Female", 6, &g), IDENT_OK);
	assert_int_equal(g, IDENT_GENDER_FEMALE);
	assert_int_equal(ident_gender_parse("未知", 6, &g), IDENT_GENDER_INVALID);
	assert_true(ident_today() > ident_days(2024, 1, 1));
}

static void test_masks(void **state)
{
	(void)state;
	char out[64];
	ident_mask_id("320923197701165255", out, sizeof out);
	assert_string_equal(out, "320923********5255");
	ident_mask_id("123", out, sizeof out);
	assert_string_equal(out, "***");
	ident_mask_phone("13812345678", out, sizeof out);
	assert_string_equal(out, "138****5678");
	ident_mask_phone("0515-87212345", out, sizeof out);
	assert_string_equal(out, "0515-****2345");
	ident_mask_name("张三", out, sizeof out);
	assert_string_equal(out, "张*");
	ident_mask_name("欧阳修", out, sizeof out);
	assert_string_equal(out, "欧**");
	ident_mask_name("张", out, sizeof out);
	assert_string_equal(out, "*");
	ident_mask_name("", out, sizeof out);
	assert_string_equal(out, "");
	char small[5];
	ident_mask_id("320923197701165255", small, sizeof small);
	assert_string_equal(small, "3209");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_id_normalised),
		cmocka_unit_test(test_id_invalid),
		cmocka_unit_test(test_id_future_skipped),
		cmocka_unit_test(test_id_from_number),
		cmocka_unit_test(test_id_region),
		cmocka_unit_test(test_id_messages),
		cmocka_unit_test(test_mobile_prefixes),
		cmocka_unit_test(test_phone_forms),
		cmocka_unit_test(test_credit),
		cmocka_unit_test(test_plates),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_dates_and_gender),
		cmocka_unit_test(test_masks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
