/* Core logging: levels from sbx/plugin.h, checked before formatting. */
#ifndef SBX_UTIL_LOG_H
#define SBX_UTIL_LOG_H

#include <sbx/plugin.h>

extern int sbx_log_level;

/* log_set_file - send log lines to @fd (default 2); strace shares it. */
void log_set_fd(int fd);
int log_fd(void);

void sbx_vlog(int level, const char *who, const char *fmt, __builtin_va_list ap);
void sbx_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sbx_err(...)   sbx_log(SBX_LOG_ERROR, __VA_ARGS__)
#define sbx_warn(...)  do { if (sbx_log_level >= SBX_LOG_WARN) sbx_log(SBX_LOG_WARN, __VA_ARGS__); } while (0)
#define sbx_info(...)  do { if (sbx_log_level >= SBX_LOG_INFO) sbx_log(SBX_LOG_INFO, __VA_ARGS__); } while (0)
#define sbx_debug(...) do { if (sbx_log_level >= SBX_LOG_DEBUG) sbx_log(SBX_LOG_DEBUG, __VA_ARGS__); } while (0)

/* log_level_parse - "error|warn|info|debug" to a level, or -EINVAL. */
int log_level_parse(const char *s);

#endif
