/* Identity values people type into rosters: 身份证号, phone numbers,
 * 统一社会信用代码, vehicle plates, names, plus the masks that hide them.
 *
 * Every validator takes the raw text (pointer + length, not NUL-terminated),
 * normalises what people commonly get wrong but mean correctly (full-width
 * digits, a lower-case x, spaces around the value, dashes in a phone number),
 * writes the canonical form into a fixed buffer of the result struct, says
 * whether normalising changed anything, and returns an ident_status naming
 * the exact rule that failed. ident_status_zh()/ident_status_en() give the
 * message for the user. No allocation anywhere in this module.
 */
#ifndef WG_IDENT_H
#define WG_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(name, zh-CN message, English message). Append only. */
#define IDENT_STATUSES(X) \
	X(OK,               "正确", "valid") \
	X(EMPTY,            "不能为空", "must not be empty") \
	X(TOO_LONG,         "内容过长", "too long") \
	X(ID_LENGTH,        "身份证号长度应为18位", "ID number must be 18 characters") \
	X(ID_BAD_CHAR,      "身份证号含非法字符(应为17位数字加1位数字或X)", \
	                    "ID number contains an invalid character (17 digits, then a digit or X)") \
	X(ID_BIRTH_DATE,    "身份证号中的出生日期无效", "impossible birth date in the ID number") \
	X(ID_BIRTH_FUTURE,  "身份证号中的出生日期晚于今天", "birth date in the ID number is in the future") \
	X(ID_CHECK_DIGIT,   "身份证号校验位错误", "wrong check digit in the ID number") \
	X(ID_REGION,        "身份证号地区码未知", "unknown region code in the ID number") \
	X(ID_EXCEL_NUMBER,  "身份证号必须是文本:Excel 把它存成了数字,第15位以后的数字已丢失,请把该列设为文本格式后重新填写", \
	                    "ID number must be text: Excel stored it as a number and lost digits past the 15th; format the column as text and type it again") \
	X(PHONE_INVALID,    "联系电话无效(应为11位手机号,或带区号的固定电话如0515-87212345)", \
	                    "invalid phone number (an 11-digit mobile, or a landline with area code such as 0515-87212345)") \
	X(MOBILE_INVALID,   "手机号无效(应为11位,号段如13x、15x、18x)", \
	                    "invalid mobile number (11 digits with a valid prefix such as 13x, 15x, 18x)") \
	X(CREDIT_LENGTH,    "统一社会信用代码长度应为18位", "unified social credit code must be 18 characters") \
	X(CREDIT_BAD_CHAR,  "统一社会信用代码含非法字符(不能含I、O、Z、S、V)", \
	                    "unified social credit code contains an invalid character (no I, O, Z, S, V)") \
	X(CREDIT_CHECK,     "统一社会信用代码校验位不符(可能是旧登记,请核对)", \
	                    "unified social credit code check character does not match (possibly an old registration; please verify)") \
	X(PLATE_INVALID,    "车牌号无效(如苏J12345,新能源车牌如苏JD12345)", \
	                    "invalid vehicle plate (such as 苏J12345, new-energy 苏JD12345)") \
	X(NAME_LENGTH,      "姓名应为1到50个字", "name must be 1 to 50 characters") \
	X(NAME_BAD_CHAR,    "姓名不能含数字、标点或控制字符", "name must not contain digits, punctuation or control characters") \
	X(NAME_ENCODING,    "姓名不是有效的UTF-8文本", "name is not valid UTF-8 text") \
	X(DATE_INVALID,     "日期无效(如1990-01-31、1990/1/31、1990年1月31日)", \
	                    "invalid date (such as 1990-01-31, 1990/1/31, 1990年1月31日)") \
	X(DATE_FUTURE,      "日期晚于今天", "date is in the future") \
	X(GENDER_INVALID,   "性别应为男或女", "gender must be 男 (male) or 女 (female)") \
	X(DATE_NO_SUCH_DAY, "日期不存在(该月没有这一天)", "the date does not exist (the month has no such day)")

enum ident_status {
#define IDENT_STATUS_ENUM(name, zh, en) IDENT_##name,
	IDENT_STATUSES(IDENT_STATUS_ENUM)
#undef IDENT_STATUS_ENUM
	IDENT__COUNT
};

const char *ident_status_zh(enum ident_status st);
const char *ident_status_en(enum ident_status st);
/* Short stable code for the API, e.g. "id_check_digit". */
const char *ident_status_code(enum ident_status st);

/* Inputs longer than this are refused with IDENT_TOO_LONG before anything else. */
#define IDENT_MAX_INPUT 256u

/* ---- dates ---------------------------------------------------------- */

/* Days since 1970-01-01 of a calendar date (what the validators call "today"). */
int64_t ident_days(int year, int month, int day);
/* Today's date in China (UTC+8), as days since 1970-01-01. */
int64_t ident_today(void);

/* A date as people type it: 1990-01-31, 1990/1/31, 1990.01.31, 19900131,
 * 1990年1月31日 (full-width digits allowed, spaces around ignored).
 * today < 0 skips the future check. */
enum ident_status ident_date_parse(const char *s, size_t n, int64_t today,
                                   int *year, int *month, int *day);

/* 男/女/男性/女性/M/F/male/female (case-insensitive). */
enum ident_gender { IDENT_GENDER_UNKNOWN = 0, IDENT_GENDER_MALE, IDENT_GENDER_FEMALE };
enum ident_status ident_gender_parse(const char *s, size_t n, enum ident_gender *out);

/* ---- 身份证号 (GB 11643-1999) ---------------------------------------- */

typedef bool (*ident_region_fn)(uint32_t code6, void *ctx);

struct ident_id_opts {
	int64_t today;               /* ident_days() of today; < 0 skips the future check */
	ident_region_fn region_known; /* NULL skips the region check */
	void *region_ctx;
	bool from_number;            /* the cell was numeric in the spreadsheet */
};

struct ident_id {
	char id[19];           /* canonical form, NUL-terminated (empty when unusable) */
	bool changed;          /* normalisation changed the input (spaces, full-width, x) */
	enum ident_gender gender;
	int birth_year, birth_month, birth_day;
	uint32_t region;       /* first 6 digits */
};

enum ident_status ident_id_check(const char *s, size_t n, const struct ident_id_opts *opts,
                                 struct ident_id *out);
/* The check character for 17 digits ('0'-'9' or 'X'); '\0' if not 17 digits. */
char ident_id_check_char(const char *digits17);

/* ---- phone numbers ------------------------------------------------- */

enum ident_phone_kind { IDENT_PHONE_NONE = 0, IDENT_PHONE_MOBILE, IDENT_PHONE_LANDLINE };

struct ident_phone {
	char number[32];       /* 13812345678 or 0515-87212345[-801] */
	bool changed;
	enum ident_phone_kind kind;
};

/* A contact number: mobile, landline or invalid (kind IDENT_PHONE_NONE). */
enum ident_status ident_phone_check(const char *s, size_t n, struct ident_phone *out);
/* Only a mobile number is accepted. */
enum ident_status ident_mobile_check(const char *s, size_t n, struct ident_phone *out);

/* ---- 统一社会信用代码 (GB 32100-2015) ---------------------------------- */

struct ident_credit {
	char code[19];
	bool changed;
};
/* IDENT_OK; IDENT_CREDIT_CHECK is a warning (code[] is filled, keep the value);
 * anything else is invalid. */
enum ident_status ident_credit_check(const char *s, size_t n, struct ident_credit *out);
bool ident_status_is_warning(enum ident_status st);

/* ---- vehicle plates ------------------------------------------------ */

struct ident_plate {
	char plate[32];        /* province character + letters/digits, no separators */
	bool changed;
	bool new_energy;
};
enum ident_status ident_plate_check(const char *s, size_t n, struct ident_plate *out);

/* ---- names --------------------------------------------------------- */

#define IDENT_NAME_MAX_CHARS 50u
struct ident_name {
	char name[IDENT_NAME_MAX_CHARS * 4 + 1];
	bool changed;          /* trimmed, or the middle dot normalised to U+00B7 */
};
enum ident_status ident_name_check(const char *s, size_t n, struct ident_name *out);

/* ---- masks (outputs NUL-terminated, truncated to size) ------------- */

/* 320923********1234 */
void ident_mask_id(const char *id, char *out, size_t size);
/* 138****5678; a landline keeps its area code and last 4 digits */
void ident_mask_phone(const char *phone, char *out, size_t size);
/* 张* (first character kept, one * per further character) */
void ident_mask_name(const char *name, char *out, size_t size);
/* "阜宁县沟墩镇2组1号" → "阜宁县沟墩****": where, not which door. */
void ident_mask_address(const char *address, char *out, size_t size);

/* Province-level prefixes of GB/T 2260 (ident_region_fn); a finer, dated
 * table of county codes would reject numbers issued under codes since retired. */
bool ident_region_province_known(uint32_t code6, void *ctx);

/* The canonical form of what people type, for a declared field's canon
 * (core/resource/resource.h): 0 with out filled, or -1 with *zh, *en saying why not. */
int ident_canon_id(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en);
int ident_canon_phone(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en);
int ident_canon_name(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en);
int ident_canon_date(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en);

#endif
