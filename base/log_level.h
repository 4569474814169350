/*
 * log_level.h: how severe a log line is.
 *
 * On the ground floor because config/ reads a level from "log.level" and
 * core/ filters lines by it, and neither should include the other's headers
 * (nor the port's) for one enum. The names keep the PORT_ prefix they had
 * when port/port.h held them.
 */
#ifndef TETHER_LOG_LEVEL_H
#define TETHER_LOG_LEVEL_H

/* Log levels, lowest is most severe. */
enum port_log_level {
	PORT_LOG_ERROR = 0,
	PORT_LOG_WARN,
	PORT_LOG_INFO,
	PORT_LOG_DEBUG
};

#endif
