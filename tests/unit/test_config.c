/*
 * test_config.c: the config loader, table-driven.
 *
 * JSON in the tables is written with ' for " (and turned back before
 * parsing) so that the cases stay readable.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/config_syntax.h"
#include "core/frame.h"
#include "base/err.h"
#include "base/log_level.h"

/* Large: kept out of the stack. */
static struct tether_config cfg;
static struct config_errors errs;
static char text[64 * 1024];

static int parse_q(const char *q, const char *base_dir)
{
	size_t n = strlen(q);

	assert_true(n < sizeof(text));
	for (size_t i = 0; i <= n; i++)
		text[i] = q[i] == '\'' ? '"' : q[i];
	return config_parse(text, n, base_dir, &cfg, &errs);
}

static void dump_errors(void)
{
	for (unsigned i = 0; i < errs.count && i < 32; i++)
		print_message("    [%u] %s: %s\n", i, errs.e[i].path, errs.e[i].message);
}

static bool has_error(const char *path, const char *msg)
{
	for (unsigned i = 0; i < errs.count && i < 32; i++)
		if (strcmp(errs.e[i].path, path) == 0 && strstr(errs.e[i].message, msg) != NULL)
			return true;
	return false;
}

/* The project's root: $TETHER_SRC, else found from where this file lives. */
static const char *src_dir(void)
{
	static char dir[1024];
	const char *env = getenv("TETHER_SRC");
	static const char tail[] = "tests/unit/test_config.c";
	size_t n;

	if (env != NULL && env[0] != '\0')
		return env;
	n = strlen(__FILE__);
	assert_true(n >= sizeof(tail) - 1 && n < sizeof(dir));
	memcpy(dir, __FILE__, n - (sizeof(tail) - 1));
	dir[n - (sizeof(tail) - 1)] = '\0';
	if (dir[0] == '\0')
		strcpy(dir, ".");
	return dir;
}

#define ID "'identity':{'cert':'a.crt','key':'a.key','ca':'ca.crt'}"
#define BASE "'node':'a'," ID
#define MINIMAL "{" BASE ",'listen':'127.0.0.1:7443'}"
/* A valid config plus x. */
#define CFG(x) "{" BASE ",'listen':'127.0.0.1:7443'," x "}"
/* A number knob as text (the board's defaults differ: "from 1 to " SESSIONS). */
#define STR_(x) #x
#define STR(x) STR_(x)
/* A valid config with peers b (dialed) and c (accept only), plus x. */
#define PEERS "'peers':{'b':{'connect':'127.0.0.1:7444'},'c':{}}"
#define CFGP(x) "{" BASE "," PEERS "," x "}"

struct bad_case {
	const char *json;
	const char *path; /* the error expected, as the only one */
	const char *msg;  /* a part of its message */
};

static const struct bad_case bad_cases[] = {
	/* The text itself. */
	{"{", "", "invalid JSON at line 1, column 2"},
	{"{\n  'node': 'a',\n  x\n}", "", "invalid JSON at line 3, column"},
	{MINIMAL " x", "", "invalid JSON at line 1"},
	{"", "", "empty"},
	{" \n\t ", "", "empty"},
	{"[]", "", "expected an object"},
	{"'node'", "", "expected an object"},
	{"{'node':'a\\u0000b'}", "", "\\u0000"},

	/* Keys. */
	{CFG("'colour':'blue'"), "colour", "unknown key"},
	{CFG("'Node':'a'"), "Node", "unknown key"},
	{CFG("'node':'b'"), "node", "duplicate key"},
	{CFG("'a\\u0001b':1"), "a\\x01b", "unknown key"},

	/* node */
	{"{" ID ",'listen':'127.0.0.1:7443'}", "node", "required"},
	{"{'node':1," ID ",'listen':'127.0.0.1:7443'}", "node", "expected a string"},
	{"{'node':null," ID ",'listen':'127.0.0.1:7443'}", "node", "expected a string"},
	{"{'node':''," ID ",'listen':'127.0.0.1:7443'}", "node", "expected a node name"},
	{"{'node':'gw 01'," ID ",'listen':'127.0.0.1:7443'}", "node", "expected a node name"},
	{"{'node':'gw/01'," ID ",'listen':'127.0.0.1:7443'}", "node", "1 to 63"},
	{"{'node':'0123456789012345678901234567890123456789012345678901234567890123'," ID
	 ",'listen':'127.0.0.1:7443'}",
	 "node", "1 to 63"},

	/* identity */
	{"{'node':'a','listen':'127.0.0.1:7443'}", "identity", "required"},
	{"{'node':'a','identity':'a.crt','listen':'127.0.0.1:7443'}", "identity",
	 "expected an object"},
	{"{'node':'a','identity':{'key':'a.key','ca':'ca.crt'},'listen':'127.0.0.1:7443'}",
	 "identity.cert", "required"},
	{"{'node':'a','identity':{'cert':'a.crt','ca':'ca.crt'},'listen':'127.0.0.1:7443'}",
	 "identity.key", "required"},
	{"{'node':'a','identity':{'cert':'a.crt','key':'a.key'},'listen':'127.0.0.1:7443'}",
	 "identity.ca", "required"},
	{"{'node':'a','identity':{'cert':'','key':'a.key','ca':'ca.crt'},'listen':'1.2.3.4:1'}",
	 "identity.cert", "non-empty"},
	{"{'node':'a','identity':{'cert':'a.crt','key':7,'ca':'ca.crt'},'listen':'1.2.3.4:1'}",
	 "identity.key", "expected a string"},
	{"{'node':'a','identity':{'cert':'a.crt','key':'a.key','ca':'ca.crt','crl':false},"
	 "'listen':'1.2.3.4:1'}",
	 "identity.crl", "expected a path or an array of paths"},
	{"{'node':'a','identity':{'cert':'a.crt','key':'a.key','ca':'ca.crt','crl':[]},"
	 "'listen':'1.2.3.4:1'}",
	 "identity.crl", "at least one path"},
	{"{'node':'a','identity':{'cert':'a.crt','key':'a.key','ca':'ca.crt','crl':['a','']},"
	 "'listen':'1.2.3.4:1'}",
	 "identity.crl[1]", "non-empty"},
	{"{'node':'a','identity':{'cert':'a.crt','key':'a.key','ca':'ca.crt',"
	 "'crl':['1','2','3','4','5']},'listen':'1.2.3.4:1'}",
	 "identity.crl", "at most 4 files"},
	{"{'node':'a','identity':{'cert':'a.crt','key':'a.key','ca':'ca.crt','warn_days':0},"
	 "'listen':'1.2.3.4:1'}",
	 "identity.warn_days", ""},
	{"{'node':'a','identity':{'cert':'a.crt','key':'a.key','ca':'ca.crt'},"
	 "'listen':'1.2.3.4:1','tls':{'drain_s':0}}",
	 "tls.drain_s", ""},
	{"{'node':'a','identity':{'cert':'a.crt','key':'a.key','ca':'ca.crt'},"
	 "'listen':'1.2.3.4:1','reload':{'watch_s':-1}}",
	 "reload.watch_s", ""},
	{"{'node':'a','identity':{'cert':'a.crt','key':'a.key','ca':'ca.crt'},"
	 "'listen':'1.2.3.4:1','reload':{'every':1}}",
	 "reload.every", "unknown key"},
	{"{'node':'a','identity':{'cert':'a.crt','key':'a.key','ca':'ca.crt','pass':'x'},"
	 "'listen':'1.2.3.4:1'}",
	 "identity.pass", "unknown key"},
	{"{'node':'a','identity':{'cert':'a\\n.crt','key':'a.key','ca':'ca.crt'},"
	 "'listen':'1.2.3.4:1'}",
	 "identity.cert", "control characters"},

	/* listen and "host:port" */
	{"{" BASE ",'listen':'127.0.0.1'}", "listen", "expected \"host:port\""},
	{"{" BASE ",'listen':'127.0.0.1:0'}", "listen", "port must be 1 to 65535"},
	{"{" BASE ",'listen':'127.0.0.1:65536'}", "listen", "port must be 1 to 65535"},
	{"{" BASE ",'listen':'127.0.0.1:07443'}", "listen", "port must be 1 to 65535"},
	{"{" BASE ",'listen':'127.0.0.1:74x3'}", "listen", "port must be 1 to 65535"},
	{"{" BASE ",'listen':'127.0.0.1:'}", "listen", "missing port"},
	{"{" BASE ",'listen':':7443'}", "listen", "missing host"},
	{"{" BASE ",'listen':'::1:7443'}", "listen", "brackets"},
	{"{" BASE ",'listen':'[::1:7443'}", "listen", "missing ']'"},
	{"{" BASE ",'listen':'[::1]'}", "listen", "missing port"},
	{"{" BASE ",'listen':'[::1]7443'}", "listen", "missing port"},
	{"{" BASE ",'listen':'[1::2::3]:7443'}", "listen", "bad IPv6"},
	{"{" BASE ",'listen':'[fe80::1%eth0]:7443'}", "listen", "bad IPv6"},
	{"{" BASE ",'listen':'[1:2:3:4:5:6:7]:7443'}", "listen", "bad IPv6"},
	{"{" BASE ",'listen':'[12345::]:7443'}", "listen", "bad IPv6"},
	{"{" BASE ",'listen':'256.1.1.1:7443'}", "listen", "bad IPv4"},
	{"{" BASE ",'listen':'1.2.3:7443'}", "listen", "bad IPv4"},
	{"{" BASE ",'listen':'01.2.3.4:7443'}", "listen", "bad IPv4"},
	{"{" BASE ",'listen':'-gw.example:7443'}", "listen", "bad host name"},
	{"{" BASE ",'listen':'gw-.example:7443'}", "listen", "bad host name"},
	{"{" BASE ",'listen':'gw..example:7443'}", "listen", "bad host name"},
	{"{" BASE ",'listen':'gw_01.example:7443'}", "listen", "bad host name"},
	{"{" BASE ",'listen':'gw.example.:7443'}", "listen", "bad host name"},
	{"{" BASE ",'listen':7443}", "listen", "expected a string"},

	/* At least one of listen, peers, edges. */
	{"{" BASE "}", "", "one of \"listen\", \"peers\" or \"edges\" is required"},
	{"{" BASE ",'peers':{}}", "", "one of \"listen\", \"peers\" or \"edges\""},

	/* peers */
	{CFG("'peers':[]"), "peers", "expected an object"},
	{CFG("'peers':{'b c':{}}"), "peers.b c", "expected a peer name"},
	{CFG("'peers':{'a':{}}"), "peers.a", "must not list itself"},
	{CFG("'peers':{'b':{},'b':{}}"), "peers.b", "duplicate key"},
	{CFG("'peers':{'b':'10.0.0.1:7443'}"), "peers.b", "expected an object"},
	{CFG("'peers':{'b':{'address':'10.0.0.1:7443'}}"), "peers.b.address", "unknown key"},
	{CFG("'peers':{'b':{'connect':'10.0.0.1:7443','connect':'10.0.0.2:7443'}}"),
	 "peers.b.connect", "duplicate key"},
	{CFG("'peers':{'core-01':{'connect':'10.1.0.2'}}"), "peers.core-01.connect",
	 "expected \"host:port\""},
	{CFG("'peers':{'b':{'connect':['10.1.0.2:7443']}}"), "peers.b.connect",
	 "expected a string"},
	{CFG("'peers':{'b':{'id':''}}"), "peers.b.id", "non-empty identity"},
	{CFG("'peers':{'b':{'id':'x\\ty'}}"), "peers.b.id", "control characters"},
	{CFG("'peers':{'b':{'id':3}}"), "peers.b.id", "expected a string"},
	{CFG("'peers':{'b':{'id':'spiffe://x/b'},'c':{'id':'spiffe://x/b'}}"), "peers.c.id",
	 "same id as peer \"b\""},
	{CFG("'peers':{'b':{},'c':{'id':'b'}}"), "peers.c.id", "same id as peer \"b\""},
	{CFG("'peers':{'b':{'id':'c'},'c':{}}"), "peers.c", "same id as peer \"b\""},
	{CFG("'peers':{'b':{'pin':'sha1/PccInRdeP6FkDymRfzrlA8f2kZqaD4Cqw4PrL8vUDa8='}}"),
	 "peers.b.pin", "expected \"sha256/\""},
	{CFG("'peers':{'b':{'pin':'PccInRdeP6FkDymRfzrlA8f2kZqaD4Cqw4PrL8vUDa8='}}"), "peers.b.pin",
	 "base64 of a 32-byte"},
	{CFG("'peers':{'b':{'pin':'sha256/AAAAAAAAAAAAAAAAAAAAAA=='}}"), "peers.b.pin", "32-byte"},
	{CFG("'peers':{'b':{'pin':'sha256/PccInRdeP6FkDymRfzrlA8f2kZqaD4Cqw4PrL8vUDa8=='}}"),
	 "peers.b.pin", "32-byte"},
	{CFG("'peers':{'b':{'pin':'sha256/Pcc!nRdeP6FkDymRfzrlA8f2kZqaD4Cqw4PrL8vUDa8='}}"),
	 "peers.b.pin", "32-byte"},
	{CFG("'peers':{'b':{'pin':'sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9='}}"),
	 "peers.b.pin", "32-byte"},
	{CFG("'peers':{'b':{'pin':'sha256/PccInRdeP6FkDymRfzrlA8f2kZqaD4Cqw4PrL8vUDa8=\\n'}}"),
	 "peers.b.pin", "32-byte"},
	{CFG("'peers':{'b':{'pin':true}}"), "peers.b.pin", "expected a string"},

	/* services */
	{CFGP("'services':[]"), "services", "expected an object"},
	{CFGP("'services':{'mod bus':{'target':'127.0.0.1:502','allow':['b']}}"),
	 "services.mod bus", "expected a service name"},
	{CFGP("'services':{'modbus':'127.0.0.1:502'}"), "services.modbus", "expected an object"},
	{CFGP("'services':{'modbus':{'allow':['b']}}"), "services.modbus.target", "required"},
	{CFGP("'services':{'modbus':{'target':'127.0.0.1','allow':['b']}}"),
	 "services.modbus.target", "expected \"host:port\""},
	{CFGP("'services':{'modbus':{'target':'127.0.0.1:502'}}"), "services.modbus.allow",
	 "required"},
	{CFGP("'services':{'modbus':{'target':'127.0.0.1:502','allow':[]}}"),
	 "services.modbus.allow", "expected at least one peer name"},
	{CFGP("'services':{'modbus':{'target':'127.0.0.1:502','allow':'b'}}"),
	 "services.modbus.allow", "expected an array of peer names"},
	{CFGP("'services':{'modbus':{'target':'127.0.0.1:502','allow':['b','x']}}"),
	 "services.modbus.allow[1]", "unknown peer \"x\""},
	{CFGP("'services':{'modbus':{'target':'127.0.0.1:502','allow':['b',2]}}"),
	 "services.modbus.allow[1]", "expected a string"},
	{CFGP("'services':{'modbus':{'target':'127.0.0.1:502','allow':['b','c','b']}}"),
	 "services.modbus.allow[2]", "listed twice"},
	{CFGP("'services':{'modbus':{'target':'127.0.0.1:502','allow':['a']}}"),
	 "services.modbus.allow[0]", "unknown peer \"a\""},
	{CFGP("'services':{'modbus':{'target':'127.0.0.1:502','allow':['b'],'deny':['c']}}"),
	 "services.modbus.deny", "unknown key"},
	{CFGP("'services':{'m':{'target':'127.0.0.1:502','allow':['b']},"
	      "'m':{'target':'127.0.0.1:503','allow':['b']}}"),
	 "services.m", "duplicate key"},

	/* forwards */
	{CFGP("'forwards':{}"), "forwards", "expected an array"},
	{CFGP("'forwards':['127.0.0.1:15020']"), "forwards[0]", "expected an object"},
	{CFGP("'forwards':[{'listen':'127.0.0.1:15020','peer':'x','service':'historian'}]"),
	 "forwards[0].peer", "unknown peer \"x\""},
	{CFGP("'forwards':[{'listen':'127.0.0.1:15020','peer':'a','service':'historian'}]"),
	 "forwards[0].peer", "unknown peer \"a\""},
	{CFGP("'forwards':[{'listen':'127.0.0.1:15020','peer':1,'service':'historian'}]"),
	 "forwards[0].peer", "expected a string"},
	{CFGP("'forwards':[{'peer':'b','service':'historian'}]"), "forwards[0].listen", "required"},
	{CFGP("'forwards':[{'listen':'127.0.0.1:15020','service':'historian'}]"),
	 "forwards[0].peer", "required"},
	{CFGP("'forwards':[{'listen':'127.0.0.1:15020','peer':'b'}]"), "forwards[0].service",
	 "required"},
	{CFGP("'forwards':[{'listen':'127.0.0.1:15020','peer':'b','service':'his torian'}]"),
	 "forwards[0].service", "expected a service name"},
	{CFGP("'forwards':[{'listen':'127.0.0.1:15020','peer':'b','service':'h','to':'x'}]"),
	 "forwards[0].to", "unknown key"},
	{CFGP("'forwards':[{'listen':'127.0.0.1','peer':'b','service':'h'}]"), "forwards[0].listen",
	 "expected \"host:port\""},
	{CFGP("'forwards':[{'listen':'127.0.0.1:15020','peer':'b','service':'h'},"
	      "{'listen':'127.0.0.1:15021','peer':'c','service':'h'},"
	      "{'listen':'127.0.0.1:15020','peer':'c','service':'i'}]"),
	 "forwards[2].listen", "same address as forwards[0].listen"},
	{CFG("'peers':{'b':{}},"
	     "'forwards':[{'listen':'127.0.0.1:7443','peer':'b','service':'h'}]"),
	 "forwards[0].listen", "same address as listen"},

/* edges */
#define IN_ "'mode':'tls-in','listen':'127.0.0.1:8443','target':'127.0.0.1:80','allow':['ops']"
#define OUT_ "'mode':'tls-out','listen':'127.0.0.1:1883','connect':'broker.example:8883'"
	{CFG("'edges':{}"), "edges", "expected an array"},
	{CFG("'edges':[7]"), "edges[0]", "expected an object"},
	{CFG("'edges':[{'listen':'127.0.0.1:1'}]"), "edges[0].mode", "required"},
	{CFG("'edges':[{'mode':'tls'}]"), "edges[0].mode", "expected \"tls-in\" or \"tls-out\""},
	{CFG("'edges':[{'mode':'tls-in','target':'127.0.0.1:80','allow':['x']}]"),
	 "edges[0].listen", "required"},
	{CFG("'edges':[{'mode':'tls-in','listen':'127.0.0.1:1','allow':['x']}]"), "edges[0].target",
	 "required"},
	{CFG("'edges':[{'mode':'tls-in','listen':'127.0.0.1:1','target':'127.0.0.1:2'}]"),
	 "edges[0].allow", "required"},
	{CFG("'edges':[{" IN_ ",'colour':1}]"), "edges[0].colour", "unknown key"},
	{CFG("'edges':[{'mode':'tls-in','listen':'127.0.0.1:1','target':'127.0.0.1:2',"
	     "'allow':[]}]"),
	 "edges[0].allow", "expected at least one identity or pin"},
	{CFG("'edges':[{'mode':'tls-in','listen':'127.0.0.1:1','target':'127.0.0.1:2',"
	     "'allow':['sha256/abc']}]"),
	 "edges[0].allow[0]", "expected \"sha256/\" and the base64"},
	{CFG("'edges':[{" IN_ ",'proxy_protocol':'v1'}]"), "edges[0].proxy_protocol",
	 "expected \"v2\" or \"none\""},
	{CFG("'edges':[{" IN_ ",'connect':'a.example:1'}]"), "edges[0].connect",
	 "only for mode \"tls-out\""},
	{CFG("'edges':[{" OUT_ ",'allow':['x']}]"), "edges[0].allow", "only for mode \"tls-in\""},
	{CFG("'edges':[{" OUT_ ",'proxy_protocol':'v2'}]"), "edges[0].proxy_protocol",
	 "only for mode \"tls-in\""},
	{CFG("'edges':[{'mode':'tls-out','listen':'127.0.0.1:1'}]"), "edges[0].connect",
	 "required"},
	{CFG("'edges':[{" OUT_ ",'server_name':'a b'}]"), "edges[0].server_name",
	 "expected a DNS name or an IP address"},
	{CFG("'edges':[{" OUT_ ",'pin':'md5/x'}]"), "edges[0].pin", "expected \"sha256/\""},
	{CFG("'edges':[{" OUT_ ",'cert':'c.crt'}]"), "edges[0].key", "required with \"cert\""},
	{CFG("'edges':[{" OUT_ ",'key':'c.key'}]"), "edges[0].cert", "required with \"key\""},
	{CFG("'edges':[{" OUT_ ",'ca':''}]"), "edges[0].ca", "expected a non-empty path"},
	{CFG("'edges':[{'mode':'tls-out','listen':'127.0.0.1:7443','connect':'a.example:1'}]"),
	 "edges[0].listen", "same address as listen"},
	{CFG("'edges':[{" OUT_ "},{" OUT_ "}]"), "edges[1].listen",
	 "same address as edges[0].listen"},
	{CFG("'edges':[{" OUT_ "}],'metrics':'127.0.0.1:1883'"), "metrics",
	 "same address as edges[0].listen"},
	{CFG("'limits':{'edge_connections':0}"), "limits.edge_connections",
	 "expected a whole number"},
	{CFG("'services':{'s':{'target':'127.0.0.1:1','allow':['b'],'proxy_protocol':2}},"
	     "'peers':{'b':{}}"),
	 "services.s.proxy_protocol", "expected a string"},

	/* tls */
	{CFG("'tls':[]"), "tls", "expected an object"},
	{CFG("'tls':{'min_version':'1.1'}"), "tls.min_version", "expected \"1.2\" or \"1.3\""},
	{CFG("'tls':{'min_version':1.2}"), "tls.min_version", "expected \"1.2\" or \"1.3\""},
	{CFG("'tls':{'ciphersuites':'TLS_AES_128_GCM_SHA256'}"), "tls.ciphersuites",
	 "expected an array"},
	{CFG("'tls':{'ciphersuites':[]}"), "tls.ciphersuites", "at least one"},
	{CFG("'tls':{'ciphersuites':['TLS_AES_128_GCM_SHA256','TLS_AES_256_GCM_SHA384',"
	     "'TLS_RSA_WITH_AES_128_CBC_SHA']}"),
	 "tls.ciphersuites[2]", "unknown cipher suite \"TLS_RSA_WITH_AES_128_CBC_SHA\""},
	{CFG("'tls':{'ciphersuites':['tls_aes_128_gcm_sha256']}"), "tls.ciphersuites[0]",
	 "unknown cipher suite \"tls_aes_128_gcm_sha256\""},
	{CFG("'tls':{'ciphersuites':['TLS_AES_128_GCM_SHA256',1]}"), "tls.ciphersuites[1]",
	 "expected a string"},
	{CFG("'tls':{'ciphersuites':['TLS_AES_128_GCM_SHA256','TLS_AES_128_GCM_SHA256']}"),
	 "tls.ciphersuites[1]", "listed twice"},
	{CFG("'tls':{'ciphersuites':['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256']}"),
	 "tls.ciphersuites", "no TLS 1.3 cipher suite"},
	{CFG("'tls':{'handshake_timeout_ms':0}"), "tls.handshake_timeout_ms",
	 "expected a whole number from 100 to 600000"},
	{CFG("'tls':{'handshake_timeout_ms':1500.5}"), "tls.handshake_timeout_ms",
	 "expected a whole number"},
	{CFG("'tls':{'handshake_timeout_ms':'1500'}"), "tls.handshake_timeout_ms",
	 "expected a whole number"},
	{CFG("'tls':{'handshake_timeout_ms':-1000}"), "tls.handshake_timeout_ms",
	 "expected a whole number"},
	{CFG("'tls':{'handshake_timeout_ms':1e400}"), "tls.handshake_timeout_ms",
	 "expected a whole number"},
	{CFG("'tls':{'session_lifetime_s':0}"), "tls.session_lifetime_s",
	 "expected a whole number from 1 to 31536000"},
	{CFG("'tls':{'renegotiation':true}"), "tls.renegotiation", "unknown key"},

	/* limits */
	{CFG("'limits':3"), "limits", "expected an object"},
	{CFG("'limits':{'sessions':0}"), "limits.sessions", "expected a whole number from 1 to"},
	{CFG("'limits':{'sessions':100000}"), "limits.sessions", "from 1 to"},
	{CFG("'limits':{'streams':0}"), "limits.streams", "from 1 to"},
	{CFG("'limits':{'stream_window':1024}"), "limits.stream_window", "expected a whole number"},
	{CFG("'limits':{'stream_window':1e9}"), "limits.stream_window", "expected a whole number"},
	{CFG("'limits':{'handshakes':0}"), "limits.handshakes",
	 "from 1 to " STR(TETHER_DEFAULT_SESSIONS)}, /* at most limits.sessions */
	{CFG("'limits':{'sessions':2,'handshakes':3}"), "limits.handshakes", "from 1 to 2"},
	{CFG("'limits':{'buffers':3}"), "limits.buffers", "unknown key"},
	/* A C1 control from the file is quoted escaped (tb_text), never raw (issue 11, item 5). */
	{CFG("'limits':{'col\\u009bour':3}"), "limits.col\\xc2\\x9bour", "unknown key"},
	{CFG("'limits':{'streams_per_session':0}"), "limits.streams_per_session",
	 "expected a whole number from 1 to"}, /* the board's default streams */
	{CFG("'limits':{'streams':8,'streams_per_session':9}"), "limits.streams_per_session",
	 "from 1 to 8"},
	{CFG("'limits':{'streams_per_session':'all'}"), "limits.streams_per_session",
	 "expected a whole number"},

	/* keepalive and reconnect */
	{CFG("'keepalive':{'interval_ms':0}"), "keepalive.interval_ms", "expected a whole number"},
	{CFG("'keepalive':{'interval_ms':5000,'timeout_ms':5000}"), "keepalive.timeout_ms",
	 "must be greater than interval_ms (5000)"},
	{CFG("'keepalive':{'timeout_ms':10000}"), "keepalive.timeout_ms",
	 "must be greater than interval_ms (15000)"},
	{CFG("'keepalive':{'every':1}"), "keepalive.every", "unknown key"},
	{CFG("'keepalive':true"), "keepalive", "expected an object"},
	{CFG("'reconnect':{'min_ms':0}"), "reconnect.min_ms", "expected a whole number"},
	{CFG("'reconnect':{'min_ms':1000,'max_ms':999}"), "reconnect.max_ms",
	 "must be at least min_ms (1000)"},
	{CFG("'reconnect':{'max_ms':100}"), "reconnect.max_ms", "must be at least min_ms (250)"},
	{CFG("'reconnect':{'jitter':1}"), "reconnect.jitter", "unknown key"},

	/* status, log, user */
	{CFG("'status':1"), "status", "expected a string"},
	{CFG("'status':''"), "status", "non-empty"},
	{CFG("'log':'info'"), "log", "expected an object"},
	{CFG("'log':{'level':'trace'}"), "log.level", "expected \"error\", \"warn\", \"info\""},
	{CFG("'log':{'level':2}"), "log.level", "expected \"error\""},
	{CFG("'log':{'format':'xml'}"), "log.format", "expected \"text\" or \"json\""},
	{CFG("'log':{'file':'x'}"), "log.file", "unknown key"},
	{CFG("'user':0"), "user", "expected a string"},
	/* Renewal through the mesh. */
	{CFGP("'issuer':{'key':'i.key','allow':['b']}"), "issuer.cert", "required"},
	{CFGP("'issuer':{'cert':'i.crt','allow':['b']}"), "issuer.key", "required"},
	{CFGP("'issuer':{'cert':'i.crt','key':'i.key'}"), "issuer.allow", "required"},
	{CFGP("'issuer':{'cert':'i.crt','key':'i.key','allow':[]}"), "issuer.allow",
	 "at least one peer"},
	{CFGP("'issuer':{'cert':'i.crt','key':'i.key','allow':['x']}"), "issuer.allow[0]",
	 "unknown peer \"x\""},
	{CFGP("'issuer':{'cert':'i.crt','key':'i.key','allow':['b','b']}"), "issuer.allow[1]",
	 "listed twice"},
	{CFGP("'issuer':{'cert':'i.crt','key':'i.key','allow':['b'],'days':0}"), "issuer.days",
	 "from 1 to 3650"},
	{CFGP("'issuer':{'cert':'i.crt','key':'a.key','allow':['b']}"), "issuer.key",
	 "the node's own key"},
	{CFGP("'issuer':{'cert':'i.crt','key':'i.key','allow':['b'],'ttl':1}"), "issuer.ttl",
	 "unknown key"},
	{CFGP("'issuer':1"), "issuer", "expected an object"},
	{CFGP("'renew':{}"), "renew.peer", "required"},
	{CFGP("'renew':{'peer':'x'}"), "renew.peer", "unknown peer \"x\""},
	{CFGP("'renew':{'peer':1}"), "renew.peer", "expected a string"},
	{CFGP("'renew':{'peer':'b','before_days':0}"), "renew.before_days", "from 1 to 3650"},
	{CFGP("'renew':{'peer':'b','every':1}"), "renew.every", "unknown key"},
	{"{'node':'a','identity':{'cert':'a.pem','key':'a.pem','ca':'ca.crt'}," PEERS
	 ",'renew':{'peer':'b'}}",
	 "renew", "two files"},
	{CFG("'user':'no body'"), "user", "expected a user name"},
};

static void test_bad_table(void **state)
{
	unsigned failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *t = &bad_cases[i];
		int rc = parse_q(t->json, NULL);

		if (rc == TETHER_ERR_CONFIG && errs.count == 1 && has_error(t->path, t->msg))
			continue;
		print_message("case %zu: %s\n  wanted only %s: %s, got rc %d:\n", i, t->json,
			      t->path, t->msg, rc);
		dump_errors();
		failed++;
	}
	assert_int_equal(failed, 0);
}

static const char *const good_cases[] = {
	MINIMAL,
	"{" BASE "," PEERS "}",
	"{" BASE ",'listen':'[::1]:7443'}",
	"{" BASE ",'listen':'[::]:1'}",
	"{" BASE ",'listen':'[2001:db8::1]:443'}",
	"{" BASE ",'listen':'[1:2:3:4:5:6:7:8]:443'}",
	"{" BASE ",'listen':'[::ffff:192.0.2.1]:443'}",
	"{" BASE ",'listen':'[1::]:443'}",
	"{" BASE ",'listen':'localhost:65535'}",
	"{" BASE ",'listen':'0.0.0.0:7443'}",
	"{" BASE ",'listen':'gw-01.plant.example:7443'}",
	"{" BASE ",'listen':'255.255.255.255:1'}",
	"{" BASE ",'peers':{'b':{}}}",
	/* Order in the file does not matter: forwards before peers. */
	"{'forwards':[{'listen':'127.0.0.1:1','peer':'b','service':'s'}]," BASE
	",'peers':{'b':{}}}",
	"\xEF\xBB\xBF" MINIMAL,
	CFG("'tls':{'min_version':'1.2','ciphersuites':["
	    "'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256']}"),
	CFG("'limits':{'sessions':1,'handshakes':1,'streams':1,'stream_window':4096}"),
	CFG("'tls':{'handshake_timeout_ms':1e3}"),
	CFG("'keepalive':{'interval_ms':100,'timeout_ms':101}"),
	CFG("'reconnect':{'min_ms':1000,'max_ms':1000}"),
	CFG("'log':{'level':'debug','format':'json'},'user':'tether','status':'s.sock'"),
	CFG("'edges':[]"),
	CFG("'edges':[{" IN_ "}]"),
	CFG("'edges':[{'mode':'tls-in','listen':'127.0.0.1:8443','target':'127.0.0.1:80',"
	    "'proxy_protocol':'v2','ca':'clients.crt',"
	    "'allow':['spiffe://x/y','sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=']}]"),
	CFG("'edges':[{" OUT_ ",'server_name':'10.0.0.1','ca':'b.crt','cert':'c.crt',"
	    "'key':'c.key','pin':'sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='}]"),
	CFG("'edges':[{" OUT_ "}],'limits':{'edge_connections':1}"),
	"{" BASE ",'edges':[{" OUT_ "}]}",
	CFGP("'issuer':{'cert':'i.crt','key':'i.key','days':7,'allow':['b','c']},"
	     "'renew':{'peer':'b','before_days':2}"),
};

static void test_good_table(void **state)
{
	unsigned failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		if (parse_q(good_cases[i], NULL) == 0 && errs.count == 0)
			continue;
		print_message("good case %zu: %s\n", i, good_cases[i]);
		dump_errors();
		failed++;
	}
	assert_int_equal(failed, 0);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse_q(MINIMAL, NULL), 0);
	assert_string_equal(cfg.node, "a");
	assert_string_equal(cfg.listen, "127.0.0.1:7443");
	assert_string_equal(cfg.identity.cert, "a.crt");
	assert_int_equal(cfg.identity.n_crl, 0);
	assert_int_equal(cfg.identity.warn_days, TETHER_DEFAULT_WARN_DAYS);
	assert_int_equal(cfg.tls.drain_s, TETHER_DEFAULT_DRAIN_S);
	assert_int_equal(cfg.reload_watch_s, TETHER_DEFAULT_RELOAD_WATCH_S);
	assert_int_equal(cfg.n_peers, 0);
	assert_int_equal(cfg.n_services, 0);
	assert_int_equal(cfg.n_forwards, 0);
	assert_int_equal(cfg.tls.min_version, TETHER_TLS_1_3);
	assert_int_equal(cfg.tls.n_suites, 0);
	assert_int_equal(cfg.tls.handshake_timeout_ms, TETHER_DEFAULT_HANDSHAKE_TIMEOUT_MS);
	assert_int_equal(cfg.tls.session_lifetime_s, TETHER_DEFAULT_SESSION_LIFETIME_S);
	assert_int_equal(cfg.limits.sessions, TETHER_DEFAULT_SESSIONS);
	assert_int_equal(cfg.limits.streams, TETHER_DEFAULT_STREAMS);
	assert_int_equal(cfg.limits.stream_window, TETHER_DEFAULT_STREAM_WINDOW);
	assert_int_equal(cfg.limits.handshakes, TETHER_DEFAULT_HANDSHAKES);
	assert_int_equal(cfg.limits.streams_per_session, 0); /* the default rule */
	assert_int_equal(cfg.keepalive_interval_ms, TETHER_DEFAULT_KEEPALIVE_INTERVAL_MS);
	assert_int_equal(cfg.keepalive_timeout_ms, TETHER_DEFAULT_KEEPALIVE_TIMEOUT_MS);
	assert_int_equal(cfg.reconnect_min_ms, TETHER_DEFAULT_RECONNECT_MIN_MS);
	assert_int_equal(cfg.reconnect_max_ms, TETHER_DEFAULT_RECONNECT_MAX_MS);
	assert_string_equal(cfg.status, "");
	assert_int_equal(cfg.log_level, PORT_LOG_INFO);
	assert_int_equal(cfg.log_format, TETHER_LOG_TEXT);
	assert_string_equal(cfg.user, "");
}

/* Values left out take defaults derived from the ones given. */
static void test_derived_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse_q(CFG("'limits':{'sessions':2}"), NULL), 0);
	assert_int_equal(cfg.limits.handshakes, 2);
	assert_int_equal(parse_q(CFG("'keepalive':{'interval_ms':1000}"), NULL), 0);
	assert_int_equal(cfg.keepalive_timeout_ms, 3000);
	assert_int_equal(parse_q(CFG("'keepalive':{'interval_ms':60000}"), NULL), 0);
	assert_int_equal(cfg.keepalive_timeout_ms, 180000);
	assert_int_equal(parse_q(CFG("'reconnect':{'min_ms':60000}"), NULL), 0);
	assert_int_equal(cfg.reconnect_max_ms, 60000);
	assert_int_equal(parse_q(CFG("'reconnect':{'min_ms':100}"), NULL), 0);
	assert_int_equal(cfg.reconnect_max_ms, TETHER_DEFAULT_RECONNECT_MAX_MS);
}

static void test_paths_joined(void **state)
{
	(void)state;
	assert_int_equal(parse_q("{'node':'a','identity':{'cert':'a.crt','key':'keys/a.key',"
				 "'ca':'/pki/ca.crt','crl':'../ca.crl'},'listen':'1.2.3.4:5',"
				 "'status':'run/status.sock'}",
				 "/etc/tether"),
			 0);
	assert_string_equal(cfg.identity.cert, "/etc/tether/a.crt");
	assert_string_equal(cfg.identity.key, "/etc/tether/keys/a.key");
	assert_string_equal(cfg.identity.ca, "/pki/ca.crt");
	assert_int_equal(cfg.identity.n_crl, 1);
	assert_string_equal(cfg.identity.crl[0], "/etc/tether/../ca.crl");
	assert_string_equal(cfg.status, "/etc/tether/run/status.sock");

	assert_int_equal(
		parse_q("{'node':'a','identity':{'cert':'a.crt','key':'a.key',"
			"'ca':'ca.crt','crl':['one.crl','/two.crl'],'warn_days':7},"
			"'listen':'1.2.3.4:5','tls':{'drain_s':60},'reload':{'watch_s':0}}",
			"/etc/tether"),
		0);
	assert_int_equal(cfg.identity.n_crl, 2);
	assert_string_equal(cfg.identity.crl[0], "/etc/tether/one.crl");
	assert_string_equal(cfg.identity.crl[1], "/two.crl");
	assert_int_equal(cfg.identity.warn_days, 7);
	assert_int_equal(cfg.tls.drain_s, 60);
	assert_int_equal(cfg.reload_watch_s, 0);

	assert_int_equal(parse_q(MINIMAL, "/etc/tether/"), 0);
	assert_string_equal(cfg.identity.cert, "/etc/tether/a.crt");
	assert_int_equal(parse_q(MINIMAL, "/"), 0);
	assert_string_equal(cfg.identity.cert, "/a.crt");
	assert_int_equal(parse_q(MINIMAL, "conf"), 0);
	assert_string_equal(cfg.identity.cert, "conf/a.crt");
	assert_int_equal(parse_q(MINIMAL, ""), 0);
	assert_string_equal(cfg.identity.cert, "a.crt");
}

static void test_path_too_long(void **state)
{
	char base[TETHER_PATH_MAX];

	(void)state;
	/* With "/" and "a.crt" this is one byte too long; "ca.crt" and "a.key" too. */
	memset(base, 'd', sizeof(base));
	base[0] = '/';
	base[TETHER_PATH_MAX - 6] = '\0';
	assert_int_equal(parse_q(MINIMAL, base), TETHER_ERR_CONFIG);
	assert_int_equal(errs.count, 3);
	assert_true(has_error("identity.cert", "too long"));
	assert_true(has_error("identity.key", "too long"));
	assert_true(has_error("identity.ca", "too long"));

	/* One shorter fits exactly. */
	base[TETHER_PATH_MAX - 7] = '\0';
	assert_int_equal(parse_q("{'node':'a','identity':{'cert':'a.crt','key':'a.key','ca':'/ca'},"
				 "'listen':'1.2.3.4:5'}",
				 base),
			 0);
	assert_int_equal(strlen(cfg.identity.cert), TETHER_PATH_MAX - 1);
}

static void test_peers(void **state)
{
	static const uint8_t pin[32] = {0x3d, 0xc7, 0x08, 0x9d, 0x17, 0x5e, 0x3f, 0xa1,
					0x64, 0x0f, 0x29, 0x91, 0x7f, 0x3a, 0xe5, 0x03,
					0xc7, 0xf6, 0x91, 0x9a, 0x9a, 0x0f, 0x80, 0xaa,
					0xc3, 0x83, 0xeb, 0x2f, 0xcb, 0xd4, 0x0d, 0xaf};

	(void)state;
	assert_int_equal(
		parse_q("{" BASE ",'peers':{'core-01':{'connect':'10.1.0.2:7443',"
			"'id':'spiffe://plant.example/core-01'},"
			"'gw-02':{'pin':'sha256/PccInRdeP6FkDymRfzrlA8f2kZqaD4Cqw4PrL8vUDa8='},"
			"'gw-03':{'pin':'sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8'}}}",
			NULL),
		0);
	assert_int_equal(cfg.n_peers, 3);
	assert_string_equal(cfg.peers[0].name, "core-01");
	assert_string_equal(cfg.peers[0].connect, "10.1.0.2:7443");
	assert_string_equal(cfg.peers[0].id, "spiffe://plant.example/core-01");
	assert_false(cfg.peers[0].has_pin);
	assert_string_equal(cfg.peers[1].name, "gw-02");
	assert_string_equal(cfg.peers[1].connect, "");
	assert_string_equal(cfg.peers[1].id, "gw-02");
	assert_true(cfg.peers[1].has_pin);
	assert_memory_equal(cfg.peers[1].pin, pin, 32);
	assert_true(cfg.peers[2].has_pin);
	for (int i = 0; i < 32; i++)
		assert_int_equal(cfg.peers[2].pin[i], i);

	assert_int_equal(config_peer_index(&cfg, "core-01"), 0);
	assert_int_equal(config_peer_index(&cfg, "gw-03"), 2);
	assert_int_equal(config_peer_index(&cfg, "gw-04"), -1);
	assert_int_equal(config_peer_index(&cfg, "a"), -1);
	assert_int_equal(config_peer_index(&cfg, NULL), -1);
	assert_int_equal(config_peer_index(NULL, "a"), -1);
}

static void test_services_forwards(void **state)
{
	(void)state;
	assert_int_equal(
		parse_q(CFGP("'services':{'modbus':{'target':'127.0.0.1:502','allow':['c','b']},"
			     "'echo':{'target':'[::1]:7','allow':['b']}},"
			     "'forwards':[{'listen':'127.0.0.1:15020','peer':'c','service':'hist'},"
			     "{'listen':'[::1]:15020','peer':'b','service':'echo'}]"),
			NULL),
		0);
	assert_int_equal(cfg.n_services, 2);
	assert_string_equal(cfg.services[0].name, "modbus");
	assert_string_equal(cfg.services[0].target, "127.0.0.1:502");
	assert_int_equal(cfg.services[0].n_allow, 2);
	assert_int_equal(cfg.services[0].allow[0], 1);
	assert_int_equal(cfg.services[0].allow[1], 0);
	assert_string_equal(cfg.services[1].name, "echo");
	assert_int_equal(cfg.services[1].n_allow, 1);
	assert_int_equal(cfg.services[1].allow[0], 0);
	assert_int_equal(cfg.n_forwards, 2);
	assert_string_equal(cfg.forwards[0].listen, "127.0.0.1:15020");
	assert_int_equal(cfg.forwards[0].peer, 1);
	assert_string_equal(cfg.forwards[0].service, "hist");
	assert_int_equal(cfg.forwards[1].peer, 0);
	assert_string_equal(cfg.forwards[1].service, "echo");
}

static void test_tls_suites(void **state)
{
	static const int want[] = {0x1303, 0x1301, 0x1302, 0xC02B, 0xC02C, 0xCCA9};

	(void)state;
	assert_int_equal(parse_q(CFG("'tls':{'min_version':'1.2','ciphersuites':["
				     "'TLS_CHACHA20_POLY1305_SHA256','TLS_AES_128_GCM_SHA256',"
				     "'TLS_AES_256_GCM_SHA384',"
				     "'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',"
				     "'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',"
				     "'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'],"
				     "'handshake_timeout_ms':2500,'session_lifetime_s':3600}"),
				 NULL),
			 0);
	assert_int_equal(cfg.tls.min_version, TETHER_TLS_1_2);
	assert_int_equal(cfg.tls.n_suites, 6);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(cfg.tls.suites[i], want[i]);
	assert_int_equal(cfg.tls.handshake_timeout_ms, 2500);
	assert_int_equal(cfg.tls.session_lifetime_s, 3600);

	assert_int_equal(parse_q(CFG("'tls':{'min_version':'1.3'}"), NULL), 0);
	assert_int_equal(cfg.tls.min_version, TETHER_TLS_1_3);
}

static void test_other_values(void **state)
{
	(void)state;
	assert_int_equal(parse_q(CFG("'limits':{'sessions':4,'streams':64,'stream_window':8192,"
				     "'handshakes':2,'streams_per_session':20},"
				     "'keepalive':{'interval_ms':500,'timeout_ms':2000},"
				     "'reconnect':{'min_ms':50,'max_ms':5000},"
				     "'status':'/run/tether/status.sock',"
				     "'log':{'level':'warn','format':'json'},'user':'tether'"),
				 "/etc/tether"),
			 0);
	assert_int_equal(cfg.limits.sessions, 4);
	assert_int_equal(cfg.limits.streams, 64);
	assert_int_equal(cfg.limits.stream_window, 8192);
	assert_int_equal(cfg.limits.handshakes, 2);
	assert_int_equal(cfg.limits.streams_per_session, 20);
	assert_int_equal(cfg.keepalive_interval_ms, 500);
	assert_int_equal(cfg.keepalive_timeout_ms, 2000);
	assert_int_equal(cfg.reconnect_min_ms, 50);
	assert_int_equal(cfg.reconnect_max_ms, 5000);
	assert_string_equal(cfg.status, "/run/tether/status.sock");
	assert_int_equal(cfg.log_level, PORT_LOG_WARN);
	assert_int_equal(cfg.log_format, TETHER_LOG_JSON);
	assert_string_equal(cfg.user, "tether");

	assert_int_equal(parse_q(CFG("'log':{'level':'error'}"), NULL), 0);
	assert_int_equal(cfg.log_level, PORT_LOG_ERROR);
	assert_int_equal(parse_q(CFG("'log':{'level':'debug','format':'text'}"), NULL), 0);
	assert_int_equal(cfg.log_level, PORT_LOG_DEBUG);
	assert_int_equal(cfg.log_format, TETHER_LOG_TEXT);
}

/* Edge routes: what each mode takes, and the defaults filled in. */
static void test_edges(void **state)
{
	(void)state;
	assert_int_equal(
		parse_q(CFG("'edges':[{'mode':'tls-in','listen':'0.0.0.0:8443','target':"
			    "'127.0.0.1:5432','allow':['spiffe://p/ops','sha256/"
			    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='],'proxy_protocol':'v2'},"
			    "{'mode':'tls-out','listen':'127.0.0.1:1883','connect':'[2001:db8::1]:"
			    "8883',"
			    "'ca':'broker-ca.crt'},"
			    "{'mode':'tls-out','listen':'127.0.0.1:1884','connect':'b.example:8883'"
			    ","
			    "'server_name':'mqtt.example','cert':'e.crt','key':'e.key'}],"
			    "'limits':{'edge_connections':7}"),
			NULL),
		0);
	assert_int_equal(cfg.n_edges, 3);
	assert_int_equal(cfg.limits.edge_connections, 7);
	assert_int_equal(cfg.edges[0].mode, TETHER_EDGE_TLS_IN);
	assert_string_equal(cfg.edges[0].target, "127.0.0.1:5432");
	assert_true(cfg.edges[0].proxy_v2);
	assert_int_equal(cfg.edges[0].n_allow, 2);
	assert_false(cfg.edges[0].allow[0].is_pin);
	assert_string_equal(cfg.edges[0].allow[0].id, "spiffe://p/ops");
	assert_true(cfg.edges[0].allow[1].is_pin);
	assert_int_equal(cfg.edges[0].allow[1].pin[0], 0xe3);
	assert_string_equal(cfg.edges[0].ca, "ca.crt"); /* identity.ca by default */
	assert_string_equal(cfg.edges[0].cert, "");
	assert_int_equal(cfg.edges[1].mode, TETHER_EDGE_TLS_OUT);
	assert_string_equal(cfg.edges[1].server_name, "2001:db8::1"); /* host of connect */
	assert_string_equal(cfg.edges[1].ca, "broker-ca.crt");
	assert_false(cfg.edges[1].has_pin);
	assert_string_equal(cfg.edges[2].server_name, "mqtt.example");
	assert_string_equal(cfg.edges[2].cert, "e.crt");
	assert_string_equal(cfg.edges[2].key, "e.key");
	/* Defaults: the board's pool, no PROXY header on services. */
	assert_int_equal(parse_q(MINIMAL, NULL), 0);
	assert_int_equal(cfg.limits.edge_connections, TETHER_DEFAULT_EDGE_CONNECTIONS);
	assert_int_equal(cfg.n_edges, 0);
	assert_int_equal(parse_q(CFG("'peers':{'b':{}},'services':{'s':{'target':'127.0.0.1:1',"
				     "'allow':['b'],'proxy_protocol':'v2'}}"),
				 NULL),
			 0);
	assert_true(cfg.services[0].proxy_v2);
}

static void test_renew_values(void **state)
{
	(void)state;
	assert_int_equal(parse_q(CFGP("'renew':{'peer':'c'}"), "/etc/tether"), 0);
	assert_false(cfg.issuer.on);
	assert_true(cfg.renew.on);
	assert_int_equal(cfg.renew.peer, 1);
	assert_int_equal(cfg.renew.before_days, 0);
	assert_int_equal(parse_q(CFGP("'issuer':{'cert':'i.crt','key':'k/i.key','days':7,"
				      "'allow':['c','b']},'renew':{'peer':'b','before_days':3}"),
				 "/etc/tether"),
			 0);
	assert_true(cfg.issuer.on);
	assert_string_equal(cfg.issuer.cert, "/etc/tether/i.crt");
	assert_string_equal(cfg.issuer.key, "/etc/tether/k/i.key");
	assert_int_equal(cfg.issuer.days, 7);
	assert_int_equal(cfg.issuer.n_allow, 2);
	assert_int_equal(cfg.issuer.allow[0], 1);
	assert_int_equal(cfg.issuer.allow[1], 0);
	assert_int_equal(cfg.renew.peer, 0);
	assert_int_equal(cfg.renew.before_days, 3);
	assert_int_equal(
		parse_q(CFGP("'issuer':{'cert':'i.crt','key':'i.key','allow':['b']}"), NULL), 0);
	assert_int_equal(cfg.issuer.days, TETHER_DEFAULT_ISSUE_DAYS);
}

/* Every problem is reported, each at its own path, in one pass. */
static void test_many_errors(void **state)
{
	(void)state;
	assert_int_equal(
		parse_q("{'node':'gw 01','identity':{'cert':'a.crt','ca':'ca.crt'},"
			"'listen':'0.0.0.0:99999','colour':'blue',"
			"'peers':{'core-01':{'connect':'10.1.0.2'}},"
			"'services':{'modbus':{'target':'127.0.0.1:502','allow':['core-01','x']}},"
			"'forwards':[{'listen':'127.0.0.1:15020','peer':'nope','service':'h'}],"
			"'edges':[{'mode':'tls-sideways'}],"
			"'tls':{'min_version':'1.0','ciphersuites':['TLS_AES_128_GCM_SHA256','RC4']"
			"},"
			"'limits':{'sessions':0},'log':{'level':'loud'}}",
			NULL),
		TETHER_ERR_CONFIG);
	if (errs.count != 12)
		dump_errors();
	assert_int_equal(errs.count, 12);
	assert_true(has_error("colour", "unknown key"));
	assert_true(has_error("node", "expected a node name"));
	assert_true(has_error("identity.key", "required"));
	assert_true(has_error("listen", "expected \"host:port\""));
	assert_true(has_error("peers.core-01.connect", "expected \"host:port\""));
	assert_true(has_error("services.modbus.allow[1]", "unknown peer \"x\""));
	assert_true(has_error("forwards[0].peer", "unknown peer \"nope\""));
	assert_true(has_error("edges[0].mode", "expected \"tls-in\" or \"tls-out\""));
	assert_true(has_error("tls.min_version", "expected"));
	assert_true(has_error("tls.ciphersuites[1]", "unknown cipher suite \"RC4\""));
	assert_true(has_error("limits.sessions", "expected a whole number"));
	assert_true(has_error("log.level", "expected"));
	/* handshakes (default 4) is checked against a sessions value that was rejected: no. */
	assert_false(has_error("limits.handshakes", ""));
}

/* More problems than the array holds: all counted, the first 32 kept. */
static void test_error_overflow(void **state)
{
	char *q = malloc(4096);
	size_t n;

	(void)state;
	assert_non_null(q);
	n = (size_t)snprintf(q, 4096, "{" BASE ",'listen':'1.2.3.4:5'");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(q + n, 4096 - n, ",'k%d':%d", i, i);
	snprintf(q + n, 4096 - n, "}");
	assert_int_equal(parse_q(q, NULL), TETHER_ERR_CONFIG);
	assert_int_equal(errs.count, 40);
	assert_string_equal(errs.e[0].path, "k0");
	assert_string_equal(errs.e[31].path, "k31");
	free(q);
}

/* Table limits: one more than fits is reported once, at the container. */
static void test_too_many(void **state)
{
	size_t cap = 64 * 1024;
	char *q = malloc(cap);
	size_t n;

	(void)state;
	assert_non_null(q);

	n = (size_t)snprintf(q, cap, "{" BASE ",'peers':{");
	for (int i = 0; i <= TETHER_MAX_PEERS; i++)
		n += (size_t)snprintf(q + n, cap - n, "%s'p%d':{}", i ? "," : "", i);
	snprintf(q + n, cap - n, "}}");
	assert_int_equal(parse_q(q, NULL), TETHER_ERR_CONFIG);
	assert_int_equal(errs.count, 1);
	assert_true(has_error("peers", "too many peers"));
	assert_int_equal(cfg.n_peers, TETHER_MAX_PEERS);

	n = (size_t)snprintf(q, cap, "{" BASE "," PEERS ",'services':{");
	for (int i = 0; i <= TETHER_MAX_SERVICES; i++)
		n += (size_t)snprintf(q + n, cap - n,
				      "%s's%d':{'target':'1.2.3.4:5','allow':['b']}", i ? "," : "",
				      i);
	snprintf(q + n, cap - n, "}}");
	assert_int_equal(parse_q(q, NULL), TETHER_ERR_CONFIG);
	assert_int_equal(errs.count, 1);
	assert_true(has_error("services", "too many services"));

	n = (size_t)snprintf(q, cap, "{" BASE "," PEERS ",'forwards':[");
	for (int i = 0; i <= TETHER_MAX_FORWARDS; i++)
		n += (size_t)snprintf(q + n, cap - n,
				      "%s{'listen':'127.0.0.1:%d','peer':'b','service':'s'}",
				      i ? "," : "", 20000 + i);
	snprintf(q + n, cap - n, "]}");
	assert_int_equal(parse_q(q, NULL), TETHER_ERR_CONFIG);
	assert_int_equal(errs.count, 1);
	assert_true(has_error("forwards", "too many forwards"));

	n = (size_t)snprintf(q, cap, "{" BASE ",'peers':{");
	for (int i = 0; i <= TETHER_MAX_ALLOW; i++)
		n += (size_t)snprintf(q + n, cap - n, "%s'p%d':{}", i ? "," : "", i);
	n += (size_t)snprintf(q + n, cap - n, "},'services':{'s':{'target':'1.2.3.4:5','allow':[");
	for (int i = 0; i <= TETHER_MAX_ALLOW; i++)
		n += (size_t)snprintf(q + n, cap - n, "%s'p%d'", i ? "," : "", i);
	snprintf(q + n, cap - n, "]}}}");
	assert_int_equal(parse_q(q, NULL), TETHER_ERR_CONFIG);
	assert_int_equal(errs.count, 1);
	assert_true(has_error("services.s.allow", "too many peers"));
	free(q);
}

/* Keys and values from the file are clipped and made printable in paths and messages. */
static void test_long_key(void **state)
{
	char *q = malloc(4096);
	size_t n;

	(void)state;
	assert_non_null(q);
	n = (size_t)snprintf(q, 4096,
			     "{" BASE ",'listen':'1.2.3.4:5','peers':{'b':{}},"
			     "'services':{'s':{'target':'1.2.3.4:5','allow':['");
	memset(q + n, 'x', 1000);
	n += 1000;
	snprintf(q + n, 4096 - n, "']}},'");
	n += 6;
	memset(q + n, 'k', 1000);
	n += 1000;
	snprintf(q + n, 4096 - n, "':1}");
	assert_int_equal(parse_q(q, NULL), TETHER_ERR_CONFIG);
	assert_int_equal(errs.count, 2);
	assert_true(has_error("services.s.allow[0]", "unknown peer \"xxxx"));
	for (unsigned i = 0; i < errs.count; i++) {
		assert_true(strlen(errs.e[i].path) < sizeof(errs.e[i].path));
		assert_true(strlen(errs.e[i].message) < sizeof(errs.e[i].message));
	}
	/* The unknown key, found first, has a path cut to fit. */
	assert_string_equal(errs.e[0].message, "unknown key");
	assert_int_equal(strlen(errs.e[0].path), sizeof(errs.e[0].path) - 1);
	assert_string_equal(errs.e[0].path + sizeof(errs.e[0].path) - 4, "...");
	free(q);
}

static void test_nul_byte(void **state)
{
	static const char json[] = "{\"node\":\"a\"}\0 garbage";

	(void)state;
	assert_int_equal(config_parse(json, sizeof(json) - 1, NULL, &cfg, &errs),
			 TETHER_ERR_CONFIG);
	assert_int_equal(errs.count, 1);
	assert_true(has_error("", "line 1, column 13: NUL byte"));

	/* Only len bytes are read: no NUL terminator needed. */
	assert_int_equal(parse_q(MINIMAL "garbage", NULL), TETHER_ERR_CONFIG);
	assert_int_equal(config_parse(text, strlen(MINIMAL), NULL, &cfg, &errs), 0);
	assert_int_equal(config_parse(NULL, 0, NULL, &cfg, &errs), TETHER_ERR_CONFIG);
	assert_true(has_error("", "empty"));
}

static void test_errs_optional(void **state)
{
	(void)state;
	strcpy(text, "{\"node\":\"a\"}");
	assert_int_equal(config_parse(text, strlen(text), NULL, &cfg, NULL), TETHER_ERR_CONFIG);
	strcpy(text, "{\"node\":\"a\",\"identity\":{\"cert\":\"c\",\"key\":\"k\",\"ca\":\"a\"},"
		     "\"listen\":\"127.0.0.1:1\"}");
	assert_int_equal(config_parse(text, strlen(text), NULL, &cfg, NULL), 0);
}

static void test_load_examples(void **state)
{
	char path[1200];
	char want[1300];
	const char *src = src_dir();

	(void)state;
	snprintf(path, sizeof(path), "%s/config/examples/full.json", src);
	if (config_load(path, &cfg, &errs) != 0)
		dump_errors();
	assert_int_equal(errs.count, 0);
	assert_string_equal(cfg.node, "gw-01");
	assert_int_equal(cfg.n_peers, 2);
	assert_true(cfg.peers[1].has_pin);
	assert_int_equal(cfg.tls.suites[0], 0x1303);
	snprintf(want, sizeof(want), "%s/config/examples/gw-01.crt", src);
	assert_string_equal(cfg.identity.cert, want);
	assert_string_equal(cfg.status, "/run/tether/status.sock");
	assert_int_equal(cfg.n_edges, 2);
	assert_true(cfg.edges[0].proxy_v2);
	assert_string_equal(cfg.edges[1].server_name, "broker.example");
	snprintf(want, sizeof(want), "%s/config/examples/broker-ca.crt", src);
	assert_string_equal(cfg.edges[1].ca, want);

	snprintf(path, sizeof(path), "%s/config/examples/two-nodes/a.json", src);
	if (config_load(path, &cfg, &errs) != 0)
		dump_errors();
	assert_int_equal(errs.count, 0);
	assert_string_equal(cfg.node, "a");
	assert_int_equal(cfg.n_services, 1);
	assert_string_equal(cfg.services[0].name, "echo");
	assert_int_equal(cfg.services[0].n_allow, 1);
	assert_string_equal(cfg.peers[cfg.services[0].allow[0]].name, "b");
	snprintf(want, sizeof(want), "%s/config/examples/two-nodes/ca.crt", src);
	assert_string_equal(cfg.identity.ca, want);

	snprintf(path, sizeof(path), "%s/config/examples/two-nodes/b.json", src);
	if (config_load(path, &cfg, &errs) != 0)
		dump_errors();
	assert_int_equal(errs.count, 0);
	assert_string_equal(cfg.node, "b");
	assert_int_equal(cfg.n_forwards, 1);
	assert_string_equal(cfg.peers[cfg.forwards[0].peer].name, "a");
	assert_string_equal(cfg.peers[cfg.forwards[0].peer].connect, "127.0.0.1:7443");
	assert_string_equal(cfg.forwards[0].service, "echo");
}

static void test_load_unreadable(void **state)
{
	char path[1200];

	(void)state;
	snprintf(path, sizeof(path), "%s/config/examples/no-such-file.json", src_dir());
	assert_int_equal(config_load(path, &cfg, &errs), TETHER_ERR_FILE);
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.e[0].path, "");
	assert_non_null(strstr(errs.e[0].message, "no-such-file.json"));
	assert_non_null(strstr(errs.e[0].message, "No such file or directory"));

	snprintf(path, sizeof(path), "%s/config/examples", src_dir());
	assert_int_equal(config_load(path, &cfg, &errs), TETHER_ERR_FILE);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.e[0].message, "Is a directory"));
}

/* Write head then pad spaces to a new file in the working directory; load it. */
static int load_padded(const char *head, size_t pad)
{
	char name[] = "test_config_XXXXXX";
	int fd = mkstemp(name);
	FILE *f;
	int rc;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(head, f);
	for (size_t i = 0; i < pad; i++)
		fputc(' ', f);
	assert_int_equal(fclose(f), 0);
	rc = config_load(name, &cfg, &errs);
	unlink(name);
	return rc;
}

static void test_load_sizes(void **state)
{
	(void)state;
	/* Several read buffer sizes; a bare file name keeps paths as given. */
	assert_int_equal(load_padded("{\"node\":\"a\",\"identity\":{\"cert\":\"a.crt\","
				     "\"key\":\"a.key\",\"ca\":\"ca.crt\"},"
				     "\"listen\":\"127.0.0.1:1\"}",
				     100000),
			 0);
	assert_string_equal(cfg.identity.cert, "a.crt");

	assert_int_equal(load_padded("", 0), TETHER_ERR_CONFIG);
	assert_true(has_error("", "empty"));

	assert_int_equal(load_padded("", 1024 * 1024), TETHER_ERR_CONFIG);
	assert_true(has_error("", "empty"));

	assert_int_equal(load_padded("", 1024 * 1024 + 1), TETHER_ERR_FILE);
	assert_int_equal(errs.count, 1);
	assert_true(has_error("", "larger than 1048576 bytes"));
}

struct addr_case {
	const char *addr;
	bool ok;
};

static void test_syntax(void **state)
{
	static const struct addr_case addrs[] = {
		{"1.2.3.4:1", true},
		{"[::]:80", true},
		{"[::1.2.3.4]:80", true},
		{"[a:b:c:d:e:f:1.2.3.4]:80", true},
		{"[a:b:c:d:e:f:a:1.2.3.4]:80", false},
		{"[1:2:3:4:5:6:7:8:9]:80", false},
		{"[1:2:3:4:5:6:7::]:80", true},
		{"[::1:2:3:4:5:6:7:8]:80", false},
		{"[:1]:80", false},
		{"[1:]:80", false},
		{"[]:80", false},
		{"[g::1]:80", false},
		{"[::1]:80x", false},
		{"[::1]:", false},
		{"x:1", true},
		{"x.y-z.example:443", true},
		{"1x:443", true},
		{"1.2.3.4.5:80", false},
		{"1.2.3.4:123456", false},
		{"1.2.3.4:-1", false},
		{"1.2.3.4:+1", false},
		{"h st:1", false},
		{"", false},
	};
	char name[80];
	bool tls13;

	(void)state;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		const char *why = config_syntax_addr(addrs[i].addr);

		if ((why == NULL) != addrs[i].ok)
			fail_msg("%s: %s", addrs[i].addr, why != NULL ? why : "accepted");
	}

	memset(name, 'n', sizeof(name));
	name[63] = '\0';
	assert_true(frame_name_valid_str(name));
	name[63] = 'n';
	name[64] = '\0';
	assert_false(frame_name_valid_str(name));
	assert_false(frame_name_valid_str(""));
	assert_true(frame_name_valid_str("A.z_0-9"));

	assert_int_equal(config_syntax_suite("TLS_AES_256_GCM_SHA384", &tls13), 0x1302);
	assert_true(tls13);
	assert_int_equal(
		config_syntax_suite("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", &tls13),
		0xCCA9);
	assert_false(tls13);
	assert_int_equal(config_syntax_suite("TLS_AES_128_CCM_SHA256", NULL), -1);

	assert_int_equal(config_syntax_join(name, 8, "ab", "cdef"), 0);
	assert_string_equal(name, "ab/cdef");
	assert_int_equal(config_syntax_join(name, 7, "ab", "cdef"), TETHER_ERR_TOO_BIG);
	assert_string_equal(name, "");
	assert_int_equal(config_syntax_join(name, 8, NULL, "cdef"), 0);
	assert_string_equal(name, "cdef");
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_good_table),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_derived_defaults),
		cmocka_unit_test(test_paths_joined),
		cmocka_unit_test(test_path_too_long),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_services_forwards),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_tls_suites),
		cmocka_unit_test(test_other_values),
		cmocka_unit_test(test_renew_values),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_error_overflow),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_long_key),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_errs_optional),
		cmocka_unit_test(test_load_examples),
		cmocka_unit_test(test_load_unreadable),
		cmocka_unit_test(test_load_sizes),
		cmocka_unit_test(test_syntax),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
