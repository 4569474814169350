/*
 * err.h: the one error space of tether.
 *
 * Every function that can fail returns int: 0 (TETHER_OK) on success, a
 * negative TETHER_ERR_* on failure. Byte-moving functions return >0 bytes
 * moved, 0 for "would block" (never an error), <0 TETHER_ERR_*.
 * An orderly close by the remote side has its own code, TETHER_ERR_CLOSED.
 */
#ifndef TETHER_ERR_H
#define TETHER_ERR_H

enum tether_err {
	TETHER_OK = 0,
	TETHER_ERR_CLOSED = -1,	  /* remote closed in order (EOF) */
	TETHER_ERR_IO = -2,	  /* other I/O failure */
	TETHER_ERR_NOMEM = -3,	  /* a pool or buffer is exhausted */
	TETHER_ERR_PROTOCOL = -4, /* peer broke the frame protocol */
	TETHER_ERR_CONFIG = -5,	  /* invalid configuration */
	TETHER_ERR_TLS = -6,	  /* TLS failure (details logged where seen) */
	TETHER_ERR_REFUSED = -7,  /* connection refused */
	TETHER_ERR_RESET = -8,	  /* connection reset by peer */
	TETHER_ERR_TIMEOUT = -9,  /* a deadline passed */
	TETHER_ERR_ADDR = -10,	  /* address invalid or cannot be resolved */
	TETHER_ERR_FILE = -11,	  /* file missing or unreadable */
	TETHER_ERR_TOO_BIG = -12, /* does not fit the buffer given */
	TETHER_ERR_INVALID = -13, /* invalid argument or input */
	TETHER_ERR_INUSE = -14,	  /* address already in use */
	TETHER_ERR_PERM = -15,	  /* permission denied or unsafe permissions */
	TETHER_ERR_UNREACH = -16, /* network or host unreachable */
};

/*
 * tether_err_str: a short lower-case phrase for err ("connection refused").
 * Never NULL; unknown codes give "unknown error". The string is static.
 */
const char *tether_err_str(int err);

#endif
