#include "base/err.h"

const char *tether_err_str(int err)
{
	switch (err) {
	case TETHER_OK:
		return "ok";
	case TETHER_ERR_CLOSED:
		return "closed by peer";
	case TETHER_ERR_IO:
		return "i/o error";
	case TETHER_ERR_NOMEM:
		return "out of pool memory";
	case TETHER_ERR_PROTOCOL:
		return "protocol error";
	case TETHER_ERR_CONFIG:
		return "invalid configuration";
	case TETHER_ERR_TLS:
		return "tls failure";
	case TETHER_ERR_REFUSED:
		return "connection refused";
	case TETHER_ERR_RESET:
		return "connection reset";
	case TETHER_ERR_TIMEOUT:
		return "timed out";
	case TETHER_ERR_ADDR:
		return "bad address";
	case TETHER_ERR_FILE:
		return "cannot read file";
	case TETHER_ERR_TOO_BIG:
		return "too big";
	case TETHER_ERR_INVALID:
		return "invalid argument";
	case TETHER_ERR_INUSE:
		return "address in use";
	case TETHER_ERR_PERM:
		return "permission denied";
	case TETHER_ERR_UNREACH:
		return "unreachable";
	}
	return "unknown error";
}
