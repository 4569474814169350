/*
 * config_syntax.h: the small grammars inside config values, kept apart from
 * the JSON walk so they can be tested and reused on their own: "host:port"
 * addresses, cipher suite names and path joining. Names and SPKI pins follow
 * core's rules, frame_name_valid_str() (core/frame.h) and identity_pin_parse()
 * (core/identity.h).
 *
 * None of these functions allocate or touch the OS. Strings are
 * NUL-terminated and MUST NOT be NULL unless a function says otherwise.
 */
#ifndef TETHER_CONFIG_SYNTAX_H
#define TETHER_CONFIG_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * config_syntax_addr: check a "host:port" address. host is an IPv4 literal,
 * an IPv6 literal in brackets or a host name ([A-Za-z0-9.-], RFC 1123
 * labels); port is 1..65535. The whole string must fit TETHER_ADDR_MAX.
 * Returns NULL if s is valid, else a static phrase saying what is wrong
 * ("port must be 1 to 65535").
 */
const char *config_syntax_addr(const char *s);

/*
 * config_syntax_suite: the IANA number of a cipher suite given by its IANA
 * name, or -1 if tether does not offer it. *tls13 (if not NULL) is set to
 * whether it is a TLS 1.3 suite.
 */
int config_syntax_suite(const char *name, bool *tls13);

/*
 * config_syntax_join: write base_dir "/" path into out (out_len bytes).
 * Absolute paths, and any path when base_dir is NULL or "", are copied as
 * given. Returns 0, or TETHER_ERR_TOO_BIG (out then holds "").
 */
int config_syntax_join(char *out, size_t out_len, const char *base_dir, const char *path);

#endif
