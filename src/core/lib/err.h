/* Every error the program can report, declared once.
 *
 * X(name, api code, HTTP status, zh-CN message, English message)
 * Append only: the numeric values are stable and tests refer to the codes.
 * A function that fails returns one of these (negative-free, 0 = success);
 * the HTTP layer turns it into the error envelope of the API.
 */
#ifndef WG_ERR_H
#define WG_ERR_H

#define WG_ERRORS(X) \
	X(OK,           "ok",                 200, "成功",                               "ok") \
	X(NOMEM,        "out_of_memory",      503, "服务器内存不足,请稍后重试",           "out of memory, try again later") \
	X(INTERNAL,     "internal",           500, "服务器内部错误",                     "internal error") \
	X(BAD_JSON,     "bad_json",           400, "请求体不是有效的 JSON",              "request body is not valid JSON") \
	X(VALIDATION,   "validation_failed",  422, "字段值无效",                         "invalid field value") \
	X(UNKNOWN_FIELD,"unknown_field",      422, "未知字段",                           "unknown field") \
	X(REQUIRED,     "required",           422, "缺少必填字段",                       "required field missing") \
	X(NOT_FOUND,    "not_found",          404, "记录不存在",                         "not found") \
	X(FORBIDDEN,    "forbidden",          403, "无权执行此操作",                     "not allowed") \
	X(UNAUTHORIZED, "unauthorized",       401, "未登录或登录已过期",                 "not signed in or session expired") \
	X(CONFLICT,     "conflict",           409, "与已有记录冲突",                     "conflicts with an existing record") \
	X(PRECONDITION, "version_mismatch",   412, "记录已被他人修改,请刷新后重试",       "record was changed by someone else; reload and retry") \
	X(TOO_LARGE,    "too_large",          413, "内容超过大小限制",                   "content exceeds the size limit") \
	X(METHOD,       "method_not_allowed", 405, "不支持该请求方法",                   "method not allowed") \
	X(LOCKED,       "locked",             429, "登录失败次数过多,账户暂时锁定",       "too many failed sign-ins; temporarily locked") \
	X(DB,           "database",           500, "数据库错误",                         "database error") \
	X(MEDIA_TYPE,   "unsupported_media",  415, "不支持的内容类型",                   "unsupported content type") \
	X(IO,           "io",                 500, "读写文件失败",                       "file read or write failed") \
	X(BAD_QUERY,    "bad_query",          400, "查询参数无效",                       "invalid query parameter") \
	X(BAD_CREDENTIALS,"bad_credentials",  401, "用户名或密码错误",                   "wrong username or password") \
	X(DISABLED,     "disabled",           403, "账户已停用",                         "account disabled") \
	X(NO_ROUTE,     "no_route",           404, "没有该接口",                         "no such endpoint") \
	X(BUSY,         "busy",               503, "服务器繁忙,请稍后重试",               "server busy, try again later") \
	X(USAGE,        "usage",              400, "命令参数错误",                       "bad command arguments") \
	X(RATE,         "rate_limited",       429, "请求过于频繁,请稍后再试",             "too many requests; try again in a minute") \
	X(CROSS_SITE,   "cross_site",         403, "拒绝来自其他网站的修改请求",         "cross-site write refused") \
	X(IDEMPOTENCY_REUSED,"idempotency_key_reused",422,"该 Idempotency-Key 已用于另一个请求","this Idempotency-Key was used for a different request") \
	X(TOTP_REQUIRED,"totp_required",      401, "请输入动态验证码",                   "a one-time code is required") \
	X(TOTP_ENROLL,  "totp_enrollment_required",403,"请先绑定动态验证码(双因素认证)",   "set up two-factor sign-in first") \
	X(BAD_REQUEST,  "bad_request",        400, "请求格式错误",                       "malformed request")

enum wg_err {
#define WG_ERR_ENUM(name, code, status, zh, en) WG_ERR_##name,
	WG_ERRORS(WG_ERR_ENUM)
#undef WG_ERR_ENUM
	WG_ERR__COUNT
};

const char *wg_err_code(int err);
int         wg_err_status(int err);
const char *wg_err_zh(int err);
const char *wg_err_en(int err);

/* Prints "wangge: <message>" to stderr and returns -1, so call sites read
 * `return wg_error("...")`. */
int wg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
