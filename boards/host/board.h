/* host: native development build; the tests and sanitizers run here. */
#ifndef TETHER_BOARD_H
#define TETHER_BOARD_H

#define TETHER_BOARD_NAME "host"

#endif
