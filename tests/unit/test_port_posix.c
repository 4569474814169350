/*
 * test_port_posix.c: port/posix against the real kernel, loopback only.
 *
 * Every test runs twice, once per backend: the epoll group clears
 * TETHER_PORT_POLL before each port_open(), the poll group sets it to 1.
 * Every wait is bounded, so a broken port fails a test instead of hanging.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, getrandom, explicit_bzero */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "port/port.h"
#include "port/posix/port_posix.h"

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

#define WAIT_MS 5000
#define MAX_HANDLES 64

/* Distinct tags: only their addresses matter. */
static char tag_l, tag_c, tag_s, tag_a, tag_b;

static int group_epoll(void **state)
{
	(void)state;
	return unsetenv("TETHER_PORT_POLL");
}

static int group_poll(void **state)
{
	(void)state;
	return setenv("TETHER_PORT_POLL", "1", 1);
}

static int setup(void **state)
{
	struct port *p;

	if (port_open(&p, MAX_HANDLES) != 0)
		return -1;
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	port_close(*state);
	return 0;
}

/*
 * Wait until the handle tagged tag reports every bit of want (any event at
 * all when want is 0). Returns its events, 0 if the deadline passed.
 */
static unsigned wait_for(struct port *p, void *tag, unsigned want)
{
	uint64_t end = port_now_ms(p) + WAIT_MS;
	struct port_event ev[16];
	int i, n;

	for (;;) {
		uint64_t now = port_now_ms(p);

		if (now >= end)
			return 0;
		n = port_wait(p, (int)(end - now), ev, 16);
		assert_true(n >= 0);
		for (i = 0; i < n; i++) {
			if (ev[i].tag == tag && (ev[i].events & want) == want)
				return ev[i].events;
		}
	}
}

/* Events reported for tag by one wait of at most timeout_ms. */
static unsigned events_now(struct port *p, void *tag, int timeout_ms)
{
	struct port_event ev[16];
	unsigned got = 0;
	int i, n;

	n = port_wait(p, timeout_ms, ev, 16);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (ev[i].tag == tag)
			got |= ev[i].events;
	}
	return got;
}

/* Receive on h, waiting for readiness while it would block. */
static long recv_wait(struct port *p, int h, void *buf, size_t len)
{
	long n;

	assert_int_equal(port_watch(p, h, PORT_READ, &tag_s), 0);
	for (;;) {
		n = port_tcp_recv(p, h, buf, len);
		if (n != 0)
			break;
		assert_true(wait_for(p, &tag_s, PORT_READ) != 0);
	}
	assert_int_equal(port_watch(p, h, 0, NULL), 0);
	return n;
}

struct pair {
	int lh, c, s;
};

/* A listener on listen_addr and one connection through it, both ends open. */
static void make_pair_at(struct port *p, const char *listen_addr, struct pair *pr)
{
	char addr[64], peer[64], caddr[64];
	int none;

	assert_int_equal(port_tcp_listen(p, listen_addr, &pr->lh), 0);
	assert_int_equal(port_local_addr(p, pr->lh, addr, sizeof(addr)), 0);
	assert_int_equal(port_tcp_connect(p, addr, &pr->c), 0);

	assert_int_equal(port_watch(p, pr->lh, PORT_READ, &tag_l), 0);
	assert_true(wait_for(p, &tag_l, PORT_READ) & PORT_READ);
	assert_int_equal(port_tcp_accept(p, pr->lh, &pr->s, peer, sizeof(peer)), 1);
	assert_true(pr->s >= 0);
	assert_int_equal(port_watch(p, pr->lh, 0, NULL), 0);
	/* Nothing else is queued. */
	assert_int_equal(port_tcp_accept(p, pr->lh, &none, NULL, 0), 0);
	assert_int_equal(none, -1);

	assert_int_equal(port_watch(p, pr->c, PORT_WRITE, &tag_c), 0);
	assert_true(wait_for(p, &tag_c, PORT_WRITE) & PORT_WRITE);
	assert_int_equal(port_tcp_connect_result(p, pr->c), 0);
	assert_int_equal(port_watch(p, pr->c, 0, NULL), 0);

	/* The accepted side names the connecting side's local address. */
	assert_int_equal(port_local_addr(p, pr->c, caddr, sizeof(caddr)), 0);
	assert_string_equal(peer, caddr);
}

static void make_pair(struct port *p, struct pair *pr)
{
	make_pair_at(p, "127.0.0.1:0", pr);
}

static void test_backend(void **state)
{
	struct port *p = *state;
	const char *env = getenv("TETHER_PORT_POLL");
	int want_poll = TETHER_PORT_POLL || (env != NULL && strcmp(env, "1") == 0);

	assert_string_equal(port_backend_name(p), want_poll ? "poll" : "epoll");
}

static void test_listen_local_addr(void **state)
{
	struct port *p = *state;
	char addr[64], tiny[8];
	unsigned long port;
	int lh, lh2;

	assert_int_equal(port_tcp_listen(p, "127.0.0.1:0", &lh), 0);
	assert_true(lh >= 0);
	assert_int_equal(port_local_addr(p, lh, addr, sizeof(addr)), 0);
	assert_int_equal(strncmp(addr, "127.0.0.1:", 10), 0);
	port = strtoul(addr + 10, NULL, 10);
	assert_true(port > 0 && port <= 65535);
	assert_int_equal(port_local_addr(p, lh, tiny, sizeof(tiny)), TETHER_ERR_TOO_BIG);

	/* The same address again: SO_REUSEADDR does not allow two listeners. */
	assert_int_equal(port_tcp_listen(p, addr, &lh2), TETHER_ERR_INUSE);
	assert_int_equal(lh2, -1);

	port_tcp_close(p, lh, 0);
	assert_int_equal(port_local_addr(p, lh, addr, sizeof(addr)), TETHER_ERR_INVALID);

	/* Names go through the resolver. */
	assert_int_equal(port_tcp_listen(p, "localhost:0", &lh), 0);
	port_tcp_close(p, lh, 0);
}

static void test_bad_addresses(void **state)
{
	static const char *const bad[] = {
		"",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:65536",
		"127.0.0.1:123456",
		"127.0.0.1:-1",
		"127.0.0.1:80x",
		":80",
		"::1:80",
		"[::1]",
		"[::1]80",
		"[::1:80",
		"[]:80",
		"[127.0.0.1]:80",
		"[localhost]:80",
	};
	struct port *p = *state;
	size_t i;
	int h;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(port_tcp_listen(p, bad[i], &h), TETHER_ERR_ADDR);
		assert_int_equal(h, -1);
		assert_int_equal(port_tcp_connect(p, bad[i], &h), TETHER_ERR_ADDR);
	}
	assert_int_equal(port_tcp_listen(p, NULL, &h), TETHER_ERR_ADDR);
	/* Failures leave no handle behind: the whole table is still free. */
	for (i = 0; i < MAX_HANDLES; i++)
		assert_int_equal(port_handle_fd(p, (int)i), -1);
}

static void test_connect_accept(void **state)
{
	struct port *p = *state;
	struct pair pr;
	char buf[16];

	make_pair(p, &pr);
	/* Connected and idle: reading would block, in both directions. */
	assert_int_equal(port_tcp_recv(p, pr.s, buf, sizeof(buf)), 0);
	assert_int_equal(port_tcp_recv(p, pr.c, buf, sizeof(buf)), 0);

	assert_int_equal(port_tcp_send(p, pr.c, "hello", 5), 5);
	assert_int_equal(recv_wait(p, pr.s, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(port_tcp_send(p, pr.s, "world!", 6), 6);
	assert_int_equal(recv_wait(p, pr.c, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "world!", 6);

	port_tcp_close(p, pr.c, 0);
	port_tcp_close(p, pr.s, 0);
	port_tcp_close(p, pr.lh, 0);
	port_tcp_close(p, -1, 0); /* harmless */
}

static unsigned char pattern_at(uint64_t off)
{
	return (unsigned char)(off % 251u);
}

static void test_would_block(void **state)
{
	enum {
		CHUNK = 65536
	};
	struct port *p = *state;
	static unsigned char buf[CHUNK];
	uint64_t sent = 0, got = 0, i;
	struct pair pr;
	long n;

	make_pair(p, &pr);
	/* Fill both socket buffers until the sender would block. */
	for (;;) {
		for (i = 0; i < CHUNK; i++)
			buf[i] = pattern_at(sent + i);
		n = port_tcp_send(p, pr.c, buf, CHUNK);
		assert_true(n >= 0);
		if (n == 0)
			break;
		sent += (uint64_t)n;
		assert_true(sent < 512u * 1024 * 1024);
	}
	assert_true(sent > 0);
	assert_int_equal(port_tcp_send(p, pr.c, buf, 1), 0);

	/* While nobody reads, the sender does not become writable. */
	assert_int_equal(port_watch(p, pr.c, PORT_WRITE, &tag_c), 0);
	assert_int_equal(events_now(p, &tag_c, 0) & PORT_WRITE, 0);
	assert_int_equal(port_watch(p, pr.c, 0, NULL), 0);

	/* Drain everything, checking every byte. */
	while (got < sent) {
		n = recv_wait(p, pr.s, buf, CHUNK);
		assert_true(n > 0);
		for (i = 0; i < (uint64_t)n; i++) {
			if (buf[i] != pattern_at(got + i))
				fail_msg("byte %llu differs", (unsigned long long)(got + i));
		}
		got += (uint64_t)n;
	}
	assert_true(got == sent);
	assert_int_equal(port_tcp_recv(p, pr.s, buf, CHUNK), 0);

	/* Room again: PORT_WRITE comes, and sending works. */
	assert_int_equal(port_watch(p, pr.c, PORT_WRITE, &tag_c), 0);
	assert_true(wait_for(p, &tag_c, PORT_WRITE) & PORT_WRITE);
	assert_true(port_tcp_send(p, pr.c, buf, 100) == 100);
}

static void test_orderly_close(void **state)
{
	struct port *p = *state;
	struct pair pr;
	char buf[16];

	make_pair(p, &pr);
	assert_int_equal(port_tcp_send(p, pr.c, "bye", 3), 3);
	port_tcp_close(p, pr.c, 0);
	/* Data sent before the close arrives first, then the orderly end. */
	assert_int_equal(recv_wait(p, pr.s, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "bye", 3);
	assert_int_equal(recv_wait(p, pr.s, buf, sizeof(buf)), TETHER_ERR_CLOSED);
	assert_int_equal(port_tcp_recv(p, pr.s, buf, sizeof(buf)), TETHER_ERR_CLOSED);
}

static void test_abort_close(void **state)
{
	struct port *p = *state;
	struct pair pr;
	char buf[16];
	unsigned ev;

	make_pair(p, &pr);
	port_tcp_close(p, pr.c, 1);
	assert_int_equal(port_watch(p, pr.s, PORT_READ, &tag_s), 0);
	ev = wait_for(p, &tag_s, PORT_READ);
	assert_true(ev & PORT_READ);
	assert_true(ev & PORT_ERROR);
	assert_int_equal(port_tcp_recv(p, pr.s, buf, sizeof(buf)), TETHER_ERR_RESET);
	/* Sending into a reset connection fails too (and raises no SIGPIPE). */
	assert_true(port_tcp_send(p, pr.s, "x", 1) < 0);
}

static void test_connect_refused(void **state)
{
	struct port *p = *state;
	char addr[64];
	int lh, h, rc;

	/*
	 * qemu-user (7.2) hands a guest the SO_ERROR value of the host kernel
	 * untranslated: a refused connect reads the host's ECONNREFUSED (111 on
	 * x86 and Arm), not the guest's (146 on MIPS), while errno itself is
	 * translated. tools/boards.sh sets TETHER_QEMU_USER for its emulated runs.
	 */
	if (getenv("TETHER_QEMU_USER") != NULL && ECONNREFUSED != 111) {
		print_message("skipped: under qemu-user SO_ERROR is the host's errno number "
			      "(ECONNREFUSED is %d here, 111 on the host)\n",
			      ECONNREFUSED);
		skip();
	}
	/* A port that was just free: nobody listens there now. */
	assert_int_equal(port_tcp_listen(p, "127.0.0.1:0", &lh), 0);
	assert_int_equal(port_local_addr(p, lh, addr, sizeof(addr)), 0);
	port_tcp_close(p, lh, 0);

	rc = port_tcp_connect(p, addr, &h);
	if (rc == 0) {
		unsigned ev;

		assert_int_equal(port_watch(p, h, PORT_WRITE, &tag_c), 0);
		ev = wait_for(p, &tag_c, 0);
		assert_true(ev & PORT_ERROR);
		assert_int_equal(port_tcp_connect_result(p, h), TETHER_ERR_REFUSED);
		/* Asking again gives the same answer. */
		assert_int_equal(port_tcp_connect_result(p, h), TETHER_ERR_REFUSED);
		port_tcp_close(p, h, 0);
	} else {
		assert_int_equal(rc, TETHER_ERR_REFUSED);
		assert_int_equal(h, -1);
	}
}

static void test_half_close(void **state)
{
	struct port *p = *state;
	struct pair pr;
	char buf[16];

	make_pair(p, &pr);
	assert_int_equal(port_tcp_send(p, pr.c, "ping", 4), 4);
	assert_int_equal(port_tcp_shutdown(p, pr.c), 0);
	/* Nothing more may leave c. */
	assert_true(port_tcp_send(p, pr.c, "x", 1) < 0);

	assert_int_equal(recv_wait(p, pr.s, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(recv_wait(p, pr.s, buf, sizeof(buf)), TETHER_ERR_CLOSED);

	/* The other direction still works. */
	assert_int_equal(port_tcp_send(p, pr.s, "pong", 4), 4);
	assert_int_equal(recv_wait(p, pr.c, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);
	port_tcp_close(p, pr.s, 0);
	assert_int_equal(recv_wait(p, pr.c, buf, sizeof(buf)), TETHER_ERR_CLOSED);
}

static void test_watch_tags(void **state)
{
	struct port *p = *state;
	struct port_event ev[4];
	struct pair pr;
	unsigned got;

	make_pair(p, &pr);
	assert_int_equal(port_watch(p, pr.s, PORT_READ, &tag_a), 0);
	assert_int_equal(port_wait(p, 0, ev, 4), 0);

	assert_int_equal(port_tcp_send(p, pr.c, "x", 1), 1);
	assert_true(wait_for(p, &tag_a, PORT_READ) & PORT_READ);
	/* Level-triggered: unread data is reported again. */
	assert_true(events_now(p, &tag_a, 0) & PORT_READ);
	assert_true(events_now(p, &tag_a, 0) & PORT_READ);

	/* Watching again replaces the tag. */
	assert_int_equal(port_watch(p, pr.s, PORT_READ, &tag_b), 0);
	assert_int_equal(events_now(p, &tag_a, 0), 0);
	assert_true(events_now(p, &tag_b, 0) & PORT_READ);

	/* Watched for nothing: not reported, even with data and an error pending. */
	assert_int_equal(port_watch(p, pr.s, 0, &tag_b), 0);
	assert_int_equal(port_wait(p, 20, ev, 4), 0);
	port_tcp_close(p, pr.c, 1);
	assert_int_equal(port_wait(p, 20, ev, 4), 0);

	/* An error is reported with READ even when only WRITE is watched. */
	assert_int_equal(port_watch(p, pr.s, PORT_WRITE, &tag_a), 0);
	got = wait_for(p, &tag_a, PORT_ERROR);
	assert_true(got & PORT_ERROR);
	assert_true(got & PORT_READ);

	/* Bad handles and arguments. */
	assert_int_equal(port_watch(p, -1, PORT_READ, NULL), TETHER_ERR_INVALID);
	assert_int_equal(port_watch(p, MAX_HANDLES, PORT_READ, NULL), TETHER_ERR_INVALID);
	assert_int_equal(port_watch(p, pr.c, PORT_READ, NULL), TETHER_ERR_INVALID);
	assert_int_equal(port_wait(p, 0, ev, 0), TETHER_ERR_INVALID);
	assert_int_equal(port_wait(p, 0, NULL, 4), TETHER_ERR_INVALID);
}

/* More ready handles than event slots: every handle still gets its turn. */
static void test_many_ready(void **state)
{
	enum {
		N = 6
	};
	struct port *p = *state;
	struct port_event ev[2];
	static char tags[N];
	struct pair pr[N];
	unsigned seen = 0;
	int i, j, n, round;

	for (i = 0; i < N; i++) {
		make_pair(p, &pr[i]);
		assert_int_equal(port_tcp_send(p, pr[i].c, "x", 1), 1);
	}
	for (i = 0; i < N; i++)
		assert_int_equal(port_watch(p, pr[i].s, PORT_READ, &tags[i]), 0);
	for (round = 0; round < 50 && seen != (1u << N) - 1; round++) {
		n = port_wait(p, WAIT_MS, ev, 2);
		assert_true(n > 0 && n <= 2);
		for (j = 0; j < n; j++) {
			assert_true(ev[j].events & PORT_READ);
			seen |= 1u << ((char *)ev[j].tag - tags);
		}
	}
	assert_int_equal(seen, (1u << N) - 1);
}

static void test_handle_limit(void **state)
{
	struct port *q;
	char addr[64], buf[4];
	int lh, c, c2, s, extra;

	(void)state;
	assert_int_equal(port_open(&q, 2), 0);
	assert_int_equal(port_tcp_listen(q, "127.0.0.1:0", &lh), 0);
	assert_int_equal(port_local_addr(q, lh, addr, sizeof(addr)), 0);
	assert_int_equal(port_tcp_connect(q, addr, &c), 0);
	assert_int_equal(port_tcp_connect(q, addr, &extra), TETHER_ERR_NOMEM);
	assert_int_equal(extra, -1);
	assert_int_equal(port_tcp_listen(q, "127.0.0.1:0", &extra), TETHER_ERR_NOMEM);

	/* A connection that finds the table full is accepted and reset. */
	assert_int_equal(port_watch(q, lh, PORT_READ, &tag_l), 0);
	assert_true(wait_for(q, &tag_l, PORT_READ) & PORT_READ);
	assert_int_equal(port_tcp_accept(q, lh, &s, NULL, 0), TETHER_ERR_NOMEM);
	assert_int_equal(s, -1);
	assert_int_equal(port_watch(q, c, PORT_READ, &tag_c), 0);
	assert_true(wait_for(q, &tag_c, PORT_READ) & PORT_READ);
	assert_int_equal(port_tcp_recv(q, c, buf, sizeof(buf)), TETHER_ERR_RESET);

	/* A freed slot is used again. */
	port_tcp_close(q, c, 0);
	assert_int_equal(port_tcp_connect(q, addr, &c2), 0);
	assert_int_equal(c2, c);
	port_close(q);

	assert_int_equal(port_open(&q, 0), TETHER_ERR_INVALID);
	assert_int_equal(port_open(NULL, 4), TETHER_ERR_INVALID);
	port_close(NULL);
}

static void test_two_ports(void **state)
{
	struct port *a = *state, *b;
	char addr[64], buf[8];
	int lh, c, s;

	assert_int_equal(port_open(&b, 4), 0);
	assert_int_equal(port_tcp_listen(a, "127.0.0.1:0", &lh), 0);
	assert_int_equal(port_local_addr(a, lh, addr, sizeof(addr)), 0);
	assert_int_equal(port_tcp_connect(b, addr, &c), 0);
	/* Handles are per port. */
	assert_int_equal(c, 0);
	assert_int_equal(port_watch(a, lh, PORT_READ, &tag_l), 0);
	assert_true(wait_for(a, &tag_l, PORT_READ));
	assert_int_equal(port_tcp_accept(a, lh, &s, NULL, 0), 1);
	assert_int_equal(port_watch(b, c, PORT_WRITE, &tag_c), 0);
	assert_true(wait_for(b, &tag_c, PORT_WRITE));
	assert_int_equal(port_tcp_connect_result(b, c), 0);
	assert_int_equal(port_tcp_send(b, c, "two", 3), 3);
	assert_int_equal(recv_wait(a, s, buf, sizeof(buf)), 3);
	port_close(b); /* closes c: a sees the end */
	assert_int_equal(recv_wait(a, s, buf, sizeof(buf)), TETHER_ERR_CLOSED);
}

static void test_ipv6_loopback(void **state)
{
	struct port *p = *state;
	struct pair pr;
	char addr[64], buf[8];
	int lh;

	if (port_tcp_listen(p, "[::1]:0", &lh) != 0)
		skip(); /* no IPv6 on this machine */
	port_tcp_close(p, lh, 0);
	make_pair_at(p, "[::1]:0", &pr);
	assert_int_equal(port_local_addr(p, pr.lh, addr, sizeof(addr)), 0);
	assert_int_equal(strncmp(addr, "[::1]:", 6), 0);
	assert_int_equal(port_tcp_send(p, pr.c, "six", 3), 3);
	assert_int_equal(recv_wait(p, pr.s, buf, sizeof(buf)), 3);
}

static void test_signal_wakes_wait(void **state)
{
	struct port *p = *state;
	struct port_event ev[4];
	uint64_t t0;

	(void)port_signals(p);
	assert_int_equal(raise(SIGHUP), 0);
	t0 = port_now_ms(p);
	assert_int_equal(port_wait(p, 10000, ev, 4), 0);
	assert_true(port_now_ms(p) - t0 < 2000);
	assert_int_equal(port_signals(p), PORT_SIG_HUP);
	assert_int_equal(port_signals(p), 0);

	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(port_wait(p, 10000, ev, 4), 0);
	assert_int_equal(port_signals(p), PORT_SIG_TERM | PORT_SIG_USR1);
	assert_int_equal(raise(SIGINT), 0);
	assert_int_equal(port_wait(p, 10000, ev, 4), 0);
	assert_int_equal(port_signals(p), PORT_SIG_TERM);

	/* The pipe was drained: the next wait times out normally. */
	t0 = port_now_ms(p);
	assert_int_equal(port_wait(p, 50, ev, 4), 0);
	assert_true(port_now_ms(p) - t0 >= 40);
	assert_int_equal(port_signals(p), 0);

	/* SIGPIPE is ignored for the whole process. */
	{
		struct sigaction sa;

		assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
		assert_true(sa.sa_handler == SIG_IGN);
	}
}

static void test_signal_during_wait(void **state)
{
	struct port *p = *state;
	struct port_event ev[4];
	uint64_t t0;
	pid_t child;
	int status;

	(void)port_signals(p);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct timespec ts = {0, 100 * 1000 * 1000};

		nanosleep(&ts, NULL);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	t0 = port_now_ms(p);
	/* Wake-ups other than the signal would only shorten this loop. */
	while (port_now_ms(p) - t0 < 10000 && port_signals(p) == 0)
		assert_int_equal(port_wait(p, 10000, ev, 4), 0);
	assert_true(port_now_ms(p) - t0 < 5000);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
}

static void test_entropy(void **state)
{
	struct port *p = *state;
	unsigned char a[32], b[32], zero[32];
	static unsigned char big[1 << 20];
	size_t olen = 0, i, zeros = 0;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(zero, 0, sizeof(zero));
	assert_int_equal(port_entropy(p, a, sizeof(a)), 0);
	assert_int_equal(port_entropy(p, b, sizeof(b)), 0);
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));

	assert_int_equal(mbedtls_hardware_poll(NULL, b, sizeof(b), &olen), 0);
	assert_int_equal(olen, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));

	/* Large requests are filled completely. */
	assert_int_equal(port_entropy(NULL, big, sizeof(big)), 0);
	for (i = 0; i < sizeof(big); i++)
		zeros += big[i] == 0;
	/* About 4096 expected; a short fill would leave a run of zeros. */
	assert_true(zeros < 8192);
	assert_true(big[sizeof(big) - 1] != 0 || big[sizeof(big) - 2] != 0 ||
		    big[sizeof(big) - 3] != 0);
	assert_int_equal(port_entropy(p, NULL, 0), 0);
}

static void test_clocks(void **state)
{
	struct port *p = *state;
	struct timespec ts = {0, 20 * 1000 * 1000};
	uint64_t t0, t1;

	t0 = port_now_ms(p);
	nanosleep(&ts, NULL);
	t1 = port_now_ms(p);
	assert_true(t1 >= t0 + 19 && t1 < t0 + 5000);
	assert_true(port_wall_s(p) > 1600000000);
	assert_true(port_wall_s(NULL) > 1600000000);
}

/* A new file with mode and size bytes in the temporary directory; path filled. */
static void make_file(char *path, size_t cap, mode_t mode, size_t size)
{
	const char *dir = getenv("TMPDIR");
	char chunk[256];
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = P_tmpdir;
	assert_true((size_t)snprintf(path, cap, "%s/tether-port-XXXXXX", dir) < cap);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	memset(chunk, 'k', sizeof(chunk));
	while (size > 0) {
		size_t n = size < sizeof(chunk) ? size : sizeof(chunk);

		assert_int_equal(write(fd, chunk, n), (ssize_t)n);
		size -= n;
	}
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_read_file(void **state)
{
	struct port *p = *state;
	unsigned char buf[16];
	char path[512];
	size_t len;
	size_t i;

	make_file(path, sizeof(path), 0600, 0);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(port_read_file(p, path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], 0);
	unlink(path);

	/* cap - 1 bytes fit, with room for the NUL. */
	make_file(path, sizeof(path), 0600, sizeof(buf) - 1);
	assert_int_equal(port_read_file(p, path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(buf) - 1);
	assert_int_equal(buf[sizeof(buf) - 1], 0);
	assert_int_equal(buf[0], 'k');
	unlink(path);

	/* cap bytes do not; the buffer is wiped. */
	make_file(path, sizeof(path), 0600, sizeof(buf));
	len = 99;
	assert_int_equal(port_read_file(p, path, buf, sizeof(buf), &len), TETHER_ERR_TOO_BIG);
	assert_int_equal(len, 0);
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(port_read_file(p, path, buf, 0, &len), TETHER_ERR_TOO_BIG);
	unlink(path);

	make_file(path, sizeof(path), 0600, 5000);
	assert_int_equal(port_read_file(p, path, buf, sizeof(buf), &len), TETHER_ERR_TOO_BIG);
	{
		static unsigned char large[8192];

		assert_int_equal(port_read_file(NULL, path, large, sizeof(large), &len), 0);
		assert_int_equal(len, 5000);
	}
	unlink(path);

	/* Gone, or not a file. */
	assert_int_equal(port_read_file(p, path, buf, sizeof(buf), &len), TETHER_ERR_FILE);
	assert_int_equal(port_read_file(p, ".", buf, sizeof(buf), &len), TETHER_ERR_FILE);
}

static void test_file_private(void **state)
{
	static const struct {
		mode_t mode;
		int want;
	} cases[] = {
		{0600, 0},
		{0400, 0},
		{0700, 0},
		{0644, TETHER_ERR_PERM},
		{0640, TETHER_ERR_PERM},
		{0604, TETHER_ERR_PERM},
		{0620, TETHER_ERR_PERM},
		{0610, TETHER_ERR_PERM},
		{0601, TETHER_ERR_PERM},
	};
	struct port *p = *state;
	char path[512];
	size_t i;

	make_file(path, sizeof(path), 0600, 10);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(chmod(path, cases[i].mode), 0);
		assert_int_equal(port_file_private(p, path), cases[i].want);
	}
	unlink(path);
	assert_int_equal(port_file_private(p, path), TETHER_ERR_FILE);
}

static void test_log_write(void **state)
{
	struct port *p = *state;
	static char big[10000];
	static char got[12000];
	char path[512];
	int saved, fd;
	ssize_t n;

	make_file(path, sizeof(path), 0600, 0);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	memset(big, 'b', sizeof(big));

	port_log_write(p, "level=info event=test", 21);
	port_log_write(NULL, "x=1 y", 3);
	port_log_write(p, big, sizeof(big));

	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fd);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, got, sizeof(got));
	close(fd);
	unlink(path);
	assert_int_equal(n, 21 + 1 + 3 + 1 + sizeof(big) + 1);
	assert_memory_equal(got, "level=info event=test\nx=1\n", 26);
	assert_memory_equal(got + 26, big, sizeof(big));
	assert_int_equal(got[n - 1], '\n');
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest tests[] = {
	T(test_backend),	   T(test_listen_local_addr),
	T(test_bad_addresses),	   T(test_connect_accept),
	T(test_would_block),	   T(test_orderly_close),
	T(test_abort_close),	   T(test_connect_refused),
	T(test_half_close),	   T(test_watch_tags),
	T(test_many_ready),	   T(test_handle_limit),
	T(test_two_ports),	   T(test_ipv6_loopback),
	T(test_signal_wakes_wait), T(test_signal_during_wait),
	T(test_entropy),	   T(test_clocks),
	T(test_read_file),	   T(test_file_private),
	T(test_log_write),
};

int main(void)
{
	int failed = 0;

	failed += cmocka_run_group_tests_name("port_posix_epoll", tests, group_epoll, NULL);
	failed += cmocka_run_group_tests_name("port_posix_poll", tests, group_poll, NULL);
	return failed != 0;
}
