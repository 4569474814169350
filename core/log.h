/*
 * log.h: one line per event, key=value (or one JSON object per line).
 *
 * A line is built in a caller-owned struct log_line on the stack, then written
 * with one port_log_write() call. Values are quoted when they need it; control
 * characters are replaced, so a peer cannot forge log lines through names or
 * reasons it sends. Nothing secret may be passed here.
 */
#ifndef TETHER_LOG_H
#define TETHER_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "base/log_level.h"
#include "port/port.h"

#define LOG_LINE_MAX 512

struct log_sink {
	struct port *port;
	int level; /* enum port_log_level: lines above it are dropped */
	int json;  /* 1: JSON lines */
};

struct log_line {
	const struct log_sink *sink;
	int on; /* 0 when the level is filtered out: the calls below do nothing */
	size_t len;
	char buf[LOG_LINE_MAX];
};

/* Start a line "level=<level> event=<event>". */
void log_begin(struct log_line *l, const struct log_sink *sink, int level, const char *event);
void log_str(struct log_line *l, const char *key, const char *val);
void log_u64(struct log_line *l, const char *key, uint64_t val);
void log_i64(struct log_line *l, const char *key, int64_t val);
/* Write the line. Over-long lines are cut and end in "..." (never split). */
void log_end(struct log_line *l);

/*
 * log_field: the value of key in a text-format line (up to the next space;
 * quoted values are returned with their first word only), copied into out
 * (len bytes, NUL-terminated). "" when the key is absent. Returns out.
 */
const char *log_field(const char *line, const char *key, char *out, size_t len);

/* 1 if a line of this level would be written. */
int log_enabled(const struct log_sink *sink, int level);

#endif
