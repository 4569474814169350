/*
 * test_notify.c: the service manager protocol (port/posix/notify.c) and the
 * agent's use of it (cli/notify.c), against Unix datagram sockets this test
 * binds, as systemd does: a path, and an abstract name ('@').
 *
 * port/posix reads the environment in port_open(), so each test sets it
 * first and opens its own port. Every receive is bounded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "port/port.h"

/* The agent's side is a cli/ file the program links; the test takes it whole. */
#include "cli/notify.c"

#define WAIT_MS 5000

struct manager {
	int fd;
	char name[108]; /* what goes into NOTIFY_SOCKET */
	char dir[64];	/* the temporary folder of a path socket, "" for abstract */
};

static unsigned serial;

/* Bind a datagram socket as the service manager would; abstract or a path. */
static void manager_open(struct manager *m, int abstract)
{
	struct sockaddr_un sa;
	socklen_t len;

	memset(m, 0, sizeof(*m));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	m->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(m->fd >= 0);
	if (abstract) {
		snprintf(m->name, sizeof(m->name), "@tether-test-notify-%ld-%u", (long)getpid(),
			 serial++);
		memcpy(sa.sun_path + 1, m->name + 1, strlen(m->name) - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(m->name));
	} else {
		snprintf(m->dir, sizeof(m->dir), "/tmp/tether-notify-XXXXXX");
		assert_non_null(mkdtemp(m->dir));
		snprintf(m->name, sizeof(m->name), "%s/notify", m->dir);
		memcpy(sa.sun_path, m->name, strlen(m->name) + 1);
		len = (socklen_t)sizeof(sa);
	}
	assert_int_equal(bind(m->fd, (struct sockaddr *)&sa, len), 0);
}

static void manager_close(struct manager *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	if (m->dir[0] != '\0') {
		unlink(m->name);
		rmdir(m->dir);
	}
}

/* One datagram into buf (NUL-terminated); its length, or -1 if none came in wait_ms. */
static int manager_recv(struct manager *m, char *buf, size_t cap, int wait_ms)
{
	struct pollfd pf = {.fd = m->fd, .events = POLLIN};
	ssize_t n;

	if (poll(&pf, 1, wait_ms) != 1)
		return -1;
	n = recv(m->fd, buf, cap - 1, MSG_DONTWAIT);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

static void expect_msg(struct manager *m, const char *want)
{
	char buf[256];

	assert_true(manager_recv(m, buf, sizeof(buf), WAIT_MS) >= 0);
	assert_string_equal(buf, want);
}

static struct port *open_port(void)
{
	struct port *p;

	assert_int_equal(port_open(&p, 8), 0);
	return p;
}

static int clear_env(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return 0;
}

static void messages_arrive(int abstract)
{
	struct manager m;
	struct port *p;

	manager_open(&m, abstract);
	assert_int_equal(setenv("NOTIFY_SOCKET", m.name, 1), 0);
	p = open_port();
	/* Read once at port_open: a later change does not move the messages. */
	unsetenv("NOTIFY_SOCKET");

	assert_int_equal(port_notify(p, "READY=1"), 0);
	assert_int_equal(port_notify(p, "WATCHDOG=1"), 0);
	assert_int_equal(port_notify(p, "STOPPING=1"), 0);
	assert_int_equal(port_notify(p, "RELOADING=1\nMONOTONIC_USEC=12345"), 0);
	expect_msg(&m, "READY=1");
	expect_msg(&m, "WATCHDOG=1");
	expect_msg(&m, "STOPPING=1");
	expect_msg(&m, "RELOADING=1\nMONOTONIC_USEC=12345");
	assert_int_equal(port_notify(p, ""), TETHER_ERR_INVALID);
	assert_int_equal(port_notify(p, NULL), TETHER_ERR_INVALID);
	port_close(p);
	manager_close(&m);
}

static void test_path_socket(void **state)
{
	(void)state;
	messages_arrive(0);
}

static void test_abstract_socket(void **state)
{
	(void)state;
	messages_arrive(1);
}

/* The socket is not inherited by programs the agent might run. */
static void test_cloexec(void **state)
{
	struct manager m;
	struct port *p;
	int fd, found = 0;

	(void)state;
	manager_open(&m, 1);
	setenv("NOTIFY_SOCKET", m.name, 1);
	p = open_port();
	assert_int_equal(port_notify(p, "READY=1"), 0);
	expect_msg(&m, "READY=1");
	for (fd = 3; fd < 1024; fd++) {
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);
		int type;
		socklen_t tl = sizeof(type);

		if (fd == m.fd || fcntl(fd, F_GETFD) < 0)
			continue;
		if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
		    sa.sun_family != AF_UNIX ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM)
			continue;
		found++;
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	}
	assert_int_equal(found, 1);
	port_close(p);
	manager_close(&m);
}

static void test_unset_sends_nothing(void **state)
{
	struct manager m;
	struct port *p;
	char buf[64];

	(void)state;
	manager_open(&m, 1);
	p = open_port();
	assert_int_equal(port_notify(p, "READY=1"), 0);
	assert_int_equal(port_watchdog_usec(p), 0);
	port_close(p);
	/* Empty is unset, as for sd_notify(3). */
	setenv("NOTIFY_SOCKET", "", 1);
	p = open_port();
	assert_int_equal(port_notify(p, "READY=1"), 0);
	port_close(p);
	assert_int_equal(manager_recv(&m, buf, sizeof(buf), 100), -1);
	manager_close(&m);
}

static void expect_failure(const char *name, int err)
{
	struct port *p;
	int h;

	setenv("NOTIFY_SOCKET", name, 1);
	p = open_port();
	assert_int_equal(port_notify(p, "READY=1"), err);
	/* Not fatal: it says so again, and the port goes on working. */
	assert_int_equal(port_notify(p, "WATCHDOG=1"), err);
	assert_int_equal(port_tcp_listen(p, "127.0.0.1:0", &h), 0);
	port_tcp_close(p, h, 0);
	port_close(p);
}

static void test_unreachable(void **state)
{
	struct manager m;
	char name[108], big[200];

	(void)state;
	expect_failure("/nonexistent-tether-test/notify", TETHER_ERR_ADDR);
	/* A socket file nobody is bound to any more (a manager that went away). */
	manager_open(&m, 0);
	close(m.fd);
	m.fd = -1;
	expect_failure(m.name, TETHER_ERR_REFUSED);
	manager_close(&m);
	snprintf(name, sizeof(name), "@tether-test-nobody-%ld", (long)getpid());
	expect_failure(name, TETHER_ERR_REFUSED);
	/* Names the port cannot use. */
	expect_failure("vsock:2:1234", TETHER_ERR_ADDR);
	expect_failure("relative/notify", TETHER_ERR_ADDR);
	expect_failure("@", TETHER_ERR_ADDR);
	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	expect_failure(big, TETHER_ERR_ADDR);
}

static uint64_t watchdog_with(const char *usec, const char *pid)
{
	struct port *p;
	uint64_t v;

	clear_env(NULL);
	if (usec != NULL)
		setenv("WATCHDOG_USEC", usec, 1);
	if (pid != NULL)
		setenv("WATCHDOG_PID", pid, 1);
	p = open_port();
	v = port_watchdog_usec(p);
	port_close(p);
	return v;
}

static void test_watchdog_env(void **state)
{
	char me[32], other[32];

	(void)state;
	snprintf(me, sizeof(me), "%ld", (long)getpid());
	snprintf(other, sizeof(other), "%ld", (long)getpid() + 1);
	assert_int_equal(watchdog_with(NULL, NULL), 0);
	assert_int_equal(watchdog_with("30000000", NULL), 30000000);
	assert_int_equal(watchdog_with("30000000", me), 30000000);
	assert_int_equal(watchdog_with("30000000", other), 0);
	assert_int_equal(watchdog_with("30000000", "junk"), 0);
	assert_int_equal(watchdog_with("0", NULL), 0);
	assert_int_equal(watchdog_with("-5", NULL), 0);
	assert_int_equal(watchdog_with("12s", NULL), 0);
	assert_int_equal(watchdog_with("99999999999999999999999", NULL), 0);
	assert_int_equal(watchdog_with(NULL, me), 0);
	assert_int_equal(port_watchdog_usec(NULL), 0);
}

/*
 * The agent's loop (cli/notify.c): WATCHDOG=1 at half of WATCHDOG_USEC,
 * never early, late pings restart the interval, and the loop's wait bound
 * never oversleeps it. The clock is the test's: no timing, no flakes.
 */
static void test_watchdog_timing(void **state)
{
	struct log_sink sink = {.port = NULL, .level = PORT_LOG_INFO, .json = 0};
	struct manager m;
	struct notify nt;
	struct port *p;
	char buf[64];

	(void)state;
	manager_open(&m, 1);
	setenv("NOTIFY_SOCKET", m.name, 1);
	setenv("WATCHDOG_USEC", "100000", 1); /* 100 ms: a ping every 50 ms */
	p = open_port();
	sink.port = p;
	notify_init(&nt, p, &sink, 1000);
	assert_int_equal(nt.every_ms, 50);
	assert_int_equal(notify_wait_ms(&nt, 1000), 50);
	assert_int_equal(notify_wait_ms(&nt, 1030), 20);
	/* Not yet due: nothing leaves. */
	notify_watchdog(&nt, 1049);
	assert_int_equal(manager_recv(&m, buf, sizeof(buf), 0), -1);
	/* Due: one ping, and the next is 50 ms on. */
	notify_watchdog(&nt, 1050);
	assert_true(manager_recv(&m, buf, sizeof(buf), WAIT_MS) >= 0);
	assert_string_equal(buf, "WATCHDOG=1");
	assert_int_equal(notify_wait_ms(&nt, 1050), 50);
	notify_watchdog(&nt, 1050);
	assert_int_equal(manager_recv(&m, buf, sizeof(buf), 0), -1);
	/* A loop that overslept: due at once, and the interval counts from the ping. */
	assert_int_equal(notify_wait_ms(&nt, 1400), 0);
	notify_watchdog(&nt, 1400);
	assert_true(manager_recv(&m, buf, sizeof(buf), WAIT_MS) >= 0);
	assert_string_equal(buf, "WATCHDOG=1");
	assert_int_equal(notify_wait_ms(&nt, 1401), 49);
	notify_watchdog(&nt, 1449);
	assert_int_equal(manager_recv(&m, buf, sizeof(buf), 0), -1);
	notify_watchdog(&nt, 1450);
	assert_true(manager_recv(&m, buf, sizeof(buf), WAIT_MS) >= 0);
	assert_string_equal(buf, "WATCHDOG=1");
	port_close(p);
	manager_close(&m);
	clear_env(NULL);
}

/* A short interval rounds to 1 ms, never to 0 (which would mean no watchdog). */
static void test_watchdog_tiny(void **state)
{
	struct log_sink sink = {.port = NULL, .level = PORT_LOG_INFO, .json = 0};
	struct notify nt;
	struct port *p;

	(void)state;
	setenv("WATCHDOG_USEC", "1500", 1);
	p = open_port();
	sink.port = p;
	notify_init(&nt, p, &sink, 7);
	assert_int_equal(nt.every_ms, 1);
	assert_int_equal(notify_wait_ms(&nt, 7), 1);
	port_close(p);
	clear_env(NULL);
}

/* Without WATCHDOG_USEC the loop waits for ever and nothing is sent. */
static void test_no_watchdog(void **state)
{
	struct log_sink sink = {.port = NULL, .level = PORT_LOG_INFO, .json = 0};
	struct manager m;
	struct notify nt;
	struct port *p;
	char buf[64];

	(void)state;
	manager_open(&m, 1);
	setenv("NOTIFY_SOCKET", m.name, 1);
	p = open_port();
	sink.port = p;
	notify_init(&nt, p, &sink, 0);
	assert_int_equal(notify_wait_ms(&nt, 0), -1);
	assert_int_equal(notify_wait_ms(&nt, 1000000), -1);
	notify_watchdog(&nt, 1000000);
	assert_int_equal(manager_recv(&m, buf, sizeof(buf), 100), -1);
	port_close(p);
	manager_close(&m);
}

/* An unreachable manager: the first failure is logged, later ones are not. */
static void test_failure_logged_once(void **state)
{
	struct log_sink sink = {.port = NULL, .level = PORT_LOG_INFO, .json = 0};
	char path[] = "/tmp/tether-notify-log-XXXXXX";
	static char got[4096];
	struct notify nt;
	struct port *p;
	int fd, saved, i;
	ssize_t n;
	char *s;

	(void)state;
	setenv("NOTIFY_SOCKET", "@tether-test-nobody-listens", 1);
	setenv("WATCHDOG_USEC", "2000", 1); /* 1 ms: due at once, again and again */
	p = open_port();
	sink.port = p;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);

	notify_init(&nt, p, &sink, 0);
	notify_send(&nt, "READY=1");
	for (i = 1; i <= 5; i++)
		notify_watchdog(&nt, (uint64_t)i);
	notify_send(&nt, "STOPPING=1");

	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	got[n] = '\0';
	s = strstr(got, "event=notify");
	assert_non_null(s);
	assert_null(strstr(s + 1, "event=notify"));
	assert_non_null(strstr(got, "state=\"READY=1\""));
	assert_non_null(strstr(got, "result=failed"));
	assert_non_null(strstr(got, "reason=\"connection refused\""));
	port_close(p);
	clear_env(NULL);
}

#define T(f) cmocka_unit_test_setup(f, clear_env)

static const struct CMUnitTest tests[] = {
	T(test_path_socket),	     T(test_abstract_socket), T(test_cloexec),
	T(test_unset_sends_nothing), T(test_unreachable),     T(test_watchdog_env),
	T(test_watchdog_timing),     T(test_watchdog_tiny),   T(test_no_watchdog),
	T(test_failure_logged_once),
};

int main(void)
{
	return cmocka_run_group_tests_name("notify", tests, NULL, NULL) != 0;
}
