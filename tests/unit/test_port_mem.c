/*
 * Unit tests: the in-memory port (port/mem): connections and their TCP-like
 * semantics, readiness, the virtual clock, files, the log sink, and the
 * faults a simulation injects (port_mem_fault_*).
 *
 * The test links the tether_port_mem library in place of port/posix. It
 * includes mem_impl.h, the port's private header, to check the world's
 * tables directly (every socket freed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "port/mem/mem_impl.h"

static struct port *pa, *pb;

static int setup(void **state)
{
	(void)state;
	port_mem_reset();
	assert_int_equal(port_open(&pa, 8), 0);
	assert_int_equal(port_open(&pb, 8), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	port_close(pa);
	port_close(pb);
	port_mem_reset();
	return 0;
}

/* Events of p now, as one bitmask for tag (0 if it is not reported). */
static unsigned events_for(struct port *p, void *tag)
{
	struct port_event ev[8];
	unsigned bits = 0;
	int i, n = port_wait(p, 0, ev, 8);

	assert_true(n >= 0);
	for (i = 0; i < n; i++)
		if (ev[i].tag == tag)
			bits |= ev[i].events;
	return bits;
}

/* A listens on addr, B dials it, A accepts: the two handles. */
static void pair(const char *addr, int *ha, int *hb)
{
	char peer[64];
	int l, none;

	assert_int_equal(port_tcp_listen(pa, addr, &l), 0);
	assert_int_equal(port_watch(pa, l, PORT_READ, &l), 0);
	assert_int_equal(events_for(pa, &l), 0);
	assert_int_equal(port_tcp_connect(pb, addr, hb), 0);
	assert_int_equal(events_for(pa, &l), PORT_READ);
	assert_int_equal(port_tcp_accept(pa, l, ha, peer, sizeof(peer)), 1);
	assert_int_equal(strncmp(peer, "mem:", 4), 0);
	assert_int_equal(port_tcp_accept(pa, l, &none, NULL, 0), 0); /* nothing more queued */
	assert_int_equal(none, -1);
	assert_int_equal(port_tcp_connect_result(pb, *hb), 0);
}

static void bytes_flow_both_ways(void **state)
{
	char buf[32];
	int ha, hb;

	(void)state;
	pair("10.0.0.1:7443", &ha, &hb);
	assert_int_equal(port_tcp_send(pb, hb, "hello", 5), 5);
	assert_int_equal(port_tcp_send(pa, ha, "world!", 6), 6);
	assert_int_equal(port_tcp_recv(pa, ha, buf, 3), 3);
	assert_memory_equal(buf, "hel", 3);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "lo", 2);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 0); /* would block */
	assert_int_equal(port_tcp_recv(pb, hb, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "world!", 6);
	assert_int_equal(port_local_addr(pa, ha, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10.0.0.1:7443");
	assert_int_equal(port_local_addr(pb, hb, buf, 4), TETHER_ERR_TOO_BIG);
}

static void full_buffer_blocks_and_readiness_follows(void **state)
{
	static unsigned char big[PORT_MEM_SOCK_BUF + 100], got[PORT_MEM_SOCK_BUF + 100];
	size_t i;
	int ha, hb;

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7);
	pair("h:1", &ha, &hb);
	port_watch(pb, hb, PORT_READ | PORT_WRITE, &hb);
	port_watch(pa, ha, PORT_READ, &ha);
	assert_int_equal(events_for(pb, &hb), PORT_WRITE);
	assert_int_equal(events_for(pa, &ha), 0);
	assert_int_equal(port_tcp_send(pb, hb, big, sizeof(big)), PORT_MEM_SOCK_BUF);
	assert_int_equal(port_tcp_send(pb, hb, big, 1), 0); /* full: would block */
	assert_int_equal(events_for(pb, &hb), 0);
	assert_int_equal(events_for(pa, &ha), PORT_READ);
	/* Reading frees room: writable again; the ring keeps the order. */
	assert_int_equal(port_tcp_recv(pa, ha, got, 100), 100);
	assert_int_equal(events_for(pb, &hb), PORT_WRITE);
	assert_int_equal(port_tcp_send(pb, hb, big + PORT_MEM_SOCK_BUF, 100), 100);
	assert_int_equal(port_tcp_recv(pa, ha, got + 100, sizeof(got)), PORT_MEM_SOCK_BUF);
	assert_memory_equal(got, big, sizeof(big));
	/* Watched for nothing: never reported. */
	port_watch(pa, ha, 0, &ha);
	port_tcp_send(pb, hb, "x", 1);
	assert_int_equal(events_for(pa, &ha), 0);
}

static void shutdown_is_eof_after_the_data(void **state)
{
	char buf[8];
	int ha, hb;

	(void)state;
	pair("h:2", &ha, &hb);
	port_watch(pa, ha, PORT_READ, &ha);
	assert_int_equal(port_tcp_send(pb, hb, "ab", 2), 2);
	assert_int_equal(port_tcp_shutdown(pb, hb), 0);
	assert_int_equal(port_tcp_send(pb, hb, "c", 1), TETHER_ERR_RESET); /* after our FIN */
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 2);
	assert_int_equal(events_for(pa, &ha), PORT_READ);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), TETHER_ERR_CLOSED);
	/* The other way stays open (half-close). */
	assert_int_equal(port_tcp_send(pa, ha, "back", 4), 4);
	assert_int_equal(port_tcp_recv(pb, hb, buf, sizeof(buf)), 4);
	/* Both directions shut: a hang-up, reported whatever is watched. */
	assert_int_equal(port_tcp_shutdown(pa, ha), 0);
	port_watch(pa, ha, PORT_WRITE, &ha);
	assert_int_equal(events_for(pa, &ha), PORT_WRITE | PORT_READ | PORT_ERROR);
	port_tcp_close(pa, ha, 0);
	assert_int_equal(port_tcp_recv(pb, hb, buf, sizeof(buf)), TETHER_ERR_CLOSED);
	port_tcp_close(pb, hb, 0);
	/* Both ends released: every socket slot is free again. */
	for (ha = 0; ha < PORT_MEM_MAX_SOCKETS; ha++)
		assert_int_equal(port_mem_world.socks[ha].state, SK_FREE);
}

static void abort_and_unread_data_reset(void **state)
{
	char buf[8];
	int ha, hb;

	(void)state;
	pair("h:3", &ha, &hb);
	assert_int_equal(port_tcp_send(pa, ha, "lost", 4), 4);
	port_tcp_close(pa, ha, 1);
	port_watch(pb, hb, PORT_READ, &hb);
	assert_int_equal(events_for(pb, &hb), PORT_READ | PORT_ERROR);
	/* A reset discards what was buffered, like TCP's RST. */
	assert_int_equal(port_tcp_recv(pb, hb, buf, sizeof(buf)), TETHER_ERR_RESET);
	assert_int_equal(port_tcp_send(pb, hb, "x", 1), TETHER_ERR_RESET);
	assert_int_equal(port_tcp_connect_result(pb, hb), TETHER_ERR_RESET);
	port_tcp_close(pb, hb, 0);

	/* Closing with bytes left unread resets too (as Linux does). */
	port_close(pa);
	assert_int_equal(port_open(&pa, 8), 0);
	pair("h:4", &ha, &hb);
	assert_int_equal(port_tcp_send(pb, hb, "unread", 6), 6);
	port_tcp_close(pa, ha, 0);
	assert_int_equal(port_tcp_recv(pb, hb, buf, sizeof(buf)), TETHER_ERR_RESET);
}

static void nobody_listening_is_refused(void **state)
{
	char buf[4];
	int h, l, l2;

	(void)state;
	assert_int_equal(port_tcp_connect(pb, "10.9.9.9:1", &h), 0);
	port_watch(pb, h, PORT_WRITE, &h);
	assert_int_equal(events_for(pb, &h), PORT_WRITE | PORT_READ | PORT_ERROR);
	assert_int_equal(port_tcp_connect_result(pb, h), TETHER_ERR_REFUSED);
	assert_int_equal(port_tcp_recv(pb, h, buf, sizeof(buf)), TETHER_ERR_REFUSED);
	port_tcp_close(pb, h, 0);
	/* Bad addresses, and one address listened on twice. */
	assert_int_equal(port_tcp_connect(pb, "nocolon", &h), TETHER_ERR_ADDR);
	assert_int_equal(port_tcp_listen(pa, "h:99999", &l), TETHER_ERR_ADDR);
	assert_int_equal(port_tcp_listen(pa, ":5", &l), TETHER_ERR_ADDR);
	assert_int_equal(port_tcp_listen(pa, "h:5", &l), 0);
	assert_int_equal(port_tcp_listen(pb, "h:5", &l2), TETHER_ERR_INUSE);
}

static void wildcard_port_zero_and_backlog(void **state)
{
	char addr[64];
	int l, h[PORT_MEM_BACKLOG + 1], i, ha;

	(void)state;
	/* The dialer holds a full backlog and one more. */
	port_close(pb);
	assert_int_equal(port_open(&pb, PORT_MEM_BACKLOG + 1), 0);
	/* Port 0 picks one; port_local_addr says which; 0.0.0.0 takes any host. */
	assert_int_equal(port_tcp_listen(pa, "0.0.0.0:0", &l), 0);
	assert_int_equal(port_local_addr(pa, l, addr, sizeof(addr)), 0);
	assert_int_equal(strncmp(addr, "0.0.0.0:", 8), 0);
	assert_string_not_equal(addr, "0.0.0.0:0");
	memcpy(addr, "1.2.3.4", 7); /* over "0.0.0.0", keeping the port */
	for (i = 0; i < PORT_MEM_BACKLOG + 1; i++)
		assert_int_equal(port_tcp_connect(pb, addr, &h[i]), 0);
	for (i = 0; i < PORT_MEM_BACKLOG; i++)
		assert_int_equal(port_tcp_connect_result(pb, h[i]), 0);
	/* The queue was full: refused. */
	assert_int_equal(port_tcp_connect_result(pb, h[PORT_MEM_BACKLOG]), TETHER_ERR_REFUSED);
	assert_int_equal(port_tcp_accept(pa, l, &ha, NULL, 0), 1);
	assert_int_equal(port_local_addr(pa, ha, addr, sizeof(addr)), 0);
	assert_int_equal(strncmp(addr, "1.2.3.4:", 8), 0);
	/* Closing the listener resets the connections it never accepted. */
	port_tcp_close(pa, l, 0);
	assert_int_equal(port_tcp_connect_result(pb, h[0]), 0); /* the accepted one */
	for (i = 1; i < PORT_MEM_BACKLOG; i++)
		assert_int_equal(port_tcp_connect_result(pb, h[i]), TETHER_ERR_RESET);
}

static void clock_moves_only_when_idle(void **state)
{
	struct port_event ev[4];
	int ha, hb;

	(void)state;
	assert_int_equal(port_mem_now_ms(), 0);
	/* a has not waited yet: the clock holds. */
	assert_int_equal(port_wait(pb, 500, ev, 4), 0);
	assert_int_equal(port_mem_now_ms(), 0);
	/* Both waited: the earliest wake time wins. */
	assert_int_equal(port_wait(pa, 200, ev, 4), 0);
	assert_int_equal(port_mem_now_ms(), 200);
	assert_int_equal(port_wait(pa, 1000, ev, 4), 0);
	assert_int_equal(port_mem_now_ms(), 500); /* b wanted to wake at 500 */
	assert_int_equal(port_wall_s(pa), PORT_MEM_WALL_START);
	/* Something ready anywhere holds the clock. */
	pair("h:6", &ha, &hb);
	port_watch(pa, ha, PORT_READ, &ha);
	port_tcp_send(pb, hb, "z", 1);
	assert_int_equal(port_wait(pb, 100, ev, 4), 0);
	assert_int_equal(port_wait(pb, 100, ev, 4), 0);
	assert_int_equal(port_mem_now_ms(), 500);
	assert_int_equal(port_wait(pa, 100, ev, 4), 1);
	/* Idle again: b's last wait asked for 600. */
	port_watch(pa, ha, 0, &ha);
	assert_int_equal(port_wait(pa, -1, ev, 4), 0);
	assert_int_equal(port_mem_now_ms(), 600);
	/* Waiting forever everywhere: nothing to wake for, the clock stays. */
	assert_int_equal(port_wait(pb, -1, ev, 4), 0);
	assert_int_equal(port_wait(pa, -1, ev, 4), 0);
	assert_int_equal(port_mem_now_ms(), 600);
	port_mem_advance(1400);
	assert_int_equal(port_wall_s(pb), PORT_MEM_WALL_START + 2);
	/* Signals end a wait at once and are taken once. */
	port_mem_raise(pa, PORT_SIG_TERM);
	assert_int_equal(port_wait(pa, 100, ev, 4), 0);
	assert_int_equal(port_signals(pa), PORT_SIG_TERM);
	assert_int_equal(port_signals(pa), 0);
}

static void handles_are_bounded(void **state)
{
	int h[9], i;
	struct port *p;

	(void)state;
	for (i = 0; i < 8; i++)
		assert_int_equal(port_tcp_connect(pa, "nobody:1", &h[i]), 0);
	assert_int_equal(port_tcp_connect(pa, "nobody:1", &h[8]), TETHER_ERR_NOMEM);
	port_tcp_close(pa, h[3], 0);
	assert_int_equal(port_tcp_connect(pa, "nobody:1", &h[8]), 0);
	assert_int_equal(h[8], h[3]);
	assert_int_equal(port_open(&p, PORT_MEM_MAX_HANDLES + 1), TETHER_ERR_NOMEM);
	assert_int_equal(port_watch(pa, 99, PORT_READ, NULL), TETHER_ERR_INVALID);
	assert_int_equal(port_tcp_send(pa, -1, "x", 1), TETHER_ERR_INVALID);
	port_tcp_close(pa, -1, 0); /* harmless */
}

static void files_from_the_table(void **state)
{
	static const char pem[] = "-----BEGIN X-----";
	unsigned char buf[64];
	size_t len = 99;

	(void)state;
	assert_int_equal(port_mem_file_add("/k", pem, sizeof(pem) - 1, 0600), 0);
	assert_int_equal(port_mem_file_add("/c", pem, sizeof(pem) - 1, 0644), 0);
	assert_int_equal(port_read_file(pa, "/k", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(pem) - 1);
	assert_string_equal((char *)buf, pem);
	assert_int_equal(port_read_file(pa, "/k", buf, sizeof(pem) - 1, &len), TETHER_ERR_TOO_BIG);
	assert_int_equal(port_read_file(pa, "/none", buf, sizeof(buf), &len), TETHER_ERR_FILE);
	assert_int_equal(port_file_private(pa, "/k"), 0);
	assert_int_equal(port_file_private(pa, "/c"), TETHER_ERR_PERM);
	assert_int_equal(port_file_private(pa, "/none"), TETHER_ERR_FILE);
}

static char logged[64];
static struct port *logged_port;

static void sink(void *ctx, struct port *p, const char *line, size_t len)
{
	(void)ctx;
	logged_port = p;
	snprintf(logged, sizeof(logged), "%.*s", (int)len, line);
}

static void log_goes_to_the_sink(void **state)
{
	(void)state;
	port_log_write(pa, "dropped", 7); /* no sink yet */
	port_mem_set_log(sink, NULL);
	port_mem_set_label(pa, "node-a-with-a-long-label");
	port_log_write(pa, "level=info event=x", 18);
	assert_string_equal(logged, "level=info event=x");
	assert_ptr_equal(logged_port, pa);
	assert_string_equal(port_mem_label(pa), "node-a-with-a-l");
	port_mem_set_log(NULL, NULL);
}

/* ---- faults (port_mem_fault_*) ---- */

static void cut_holds_bytes_fin_and_dials_until_the_heal(void **state)
{
	char buf[16];
	int ha, hb, l, hd;

	(void)state;
	pair("10.0.0.1:7443", &ha, &hb);
	port_watch(pb, hb, PORT_READ | PORT_WRITE, &hb);
	assert_int_equal(port_mem_fault_cut(pa, pb, 1), 0);
	/* Nothing moves, and the sender is not told it may write. */
	assert_int_equal(port_tcp_send(pb, hb, "abc", 3), 0);
	assert_int_equal(events_for(pb, &hb) & PORT_WRITE, 0);
	/* A FIN waits; a new dial is black-holed: never ready. */
	assert_int_equal(port_tcp_shutdown(pa, ha), 0);
	assert_int_equal(port_tcp_recv(pb, hb, buf, sizeof(buf)), 0);
	assert_int_equal(port_tcp_listen(pa, "10.0.0.1:80", &l), 0);
	assert_int_equal(port_tcp_connect(pb, "10.0.0.1:80", &hd), 0);
	port_watch(pb, hd, PORT_READ | PORT_WRITE, &hd);
	assert_int_equal(events_for(pb, &hd), 0);
	assert_int_equal(port_tcp_accept(pa, l, &ha, NULL, 0), 0);
	/* Healed: the FIN arrives, the bytes go. */
	assert_int_equal(port_mem_fault_cut(pa, pb, 0), 0);
	assert_int_equal(port_tcp_recv(pb, hb, buf, sizeof(buf)), TETHER_ERR_CLOSED);
	assert_int_equal(port_tcp_send(pb, hb, "abc", 3), 3);
	assert_int_equal(port_mem_fault_cut(pa, pa, 1), TETHER_ERR_INVALID);
}

static void cut_holds_a_reset(void **state)
{
	char buf[16];
	int ha, hb;

	(void)state;
	pair("10.0.0.1:7443", &ha, &hb);
	assert_int_equal(port_mem_fault_cut(pb, pa, 1), 0);
	port_tcp_close(pa, ha, 1);
	assert_int_equal(port_tcp_recv(pb, hb, buf, sizeof(buf)), 0);
	port_mem_fault_clear(pb);
	assert_int_equal(port_tcp_recv(pb, hb, buf, sizeof(buf)), TETHER_ERR_RESET);
}

static void delay_holds_bytes_and_wakes_the_reader(void **state)
{
	struct port_event ev[4];
	char buf[16];
	int ha, hb;

	(void)state;
	pair("10.0.0.1:7443", &ha, &hb);
	port_watch(pa, ha, PORT_READ, &ha);
	assert_int_equal(port_mem_fault_delay(pb, pa, 250), 0);
	assert_int_equal(port_tcp_send(pb, hb, "abc", 3), 3);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 0);
	assert_int_equal(events_for(pa, &ha), 0);
	/* Both wait long: the clock stops when the bytes land, not at the timeout. */
	assert_int_equal(port_wait(pb, 10000, ev, 4), 0);
	assert_int_equal(port_wait(pa, 10000, ev, 4), 0);
	assert_int_equal(port_mem_now_ms(), 250);
	assert_int_equal(port_tcp_send(pb, hb, "de", 2), 2); /* held again, after abc */
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 0);
	port_mem_advance(250);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "de", 2);
	/* The other way is not delayed. */
	assert_int_equal(port_tcp_send(pa, ha, "x", 1), 1);
	assert_int_equal(port_tcp_recv(pb, hb, buf, sizeof(buf)), 1);
}

static void reset_after_n_bytes(void **state)
{
	char buf[256];
	int ha, hb;

	(void)state;
	pair("10.0.0.1:7443", &ha, &hb);
	memset(buf, 'q', sizeof(buf));
	assert_int_equal(port_mem_fault_reset_after(pb, pa, 150), 0);
	assert_int_equal(port_tcp_send(pb, hb, buf, 100), 100);
	assert_int_equal(port_tcp_send(pb, hb, buf, 100), TETHER_ERR_RESET);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), TETHER_ERR_RESET);
	assert_int_equal(port_tcp_send(pb, hb, buf, 1), TETHER_ERR_RESET);
	/* One shot: the next connection is left alone. */
	port_tcp_close(pa, ha, 0);
	port_tcp_close(pb, hb, 0);
	pair("10.0.0.1:7444", &ha, &hb);
	assert_int_equal(port_tcp_send(pb, hb, buf, 200), 200);
}

static void slow_reader_reads_its_quota_each_10ms(void **state)
{
	struct port_event ev[4];
	char buf[1024];
	int ha, hb;

	(void)state;
	pair("10.0.0.1:7443", &ha, &hb);
	port_watch(pa, ha, PORT_READ, &ha);
	assert_int_equal(port_mem_fault_slow_reader(pa, 100), 0);
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(port_tcp_send(pb, hb, buf, 250), 250);
	assert_int_equal(port_tcp_shutdown(pb, hb), 0);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 100);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 0);
	assert_int_equal(events_for(pa, &ha), 0); /* not readable, no hang-up either */
	assert_int_equal(port_wait(pb, -1, ev, 4), 0);
	assert_int_equal(port_wait(pa, -1, ev, 4), 0);
	assert_int_equal(port_mem_now_ms(), 10);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 100);
	port_mem_advance(10);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), 50);
	assert_int_equal(port_tcp_recv(pa, ha, buf, sizeof(buf)), TETHER_ERR_CLOSED);
	assert_int_equal(port_mem_fault_slow_reader(pa, 0), 0);
}

static void dials_refused_or_black_holed(void **state)
{
	int l, h;

	(void)state;
	assert_int_equal(port_tcp_listen(pa, "10.0.0.1:7443", &l), 0);
	assert_int_equal(port_mem_fault_dial(pa, PORT_MEM_DIAL_REFUSE), 0);
	assert_int_equal(port_tcp_connect(pb, "10.0.0.1:7443", &h), 0);
	assert_int_equal(port_tcp_connect_result(pb, h), TETHER_ERR_REFUSED);
	port_tcp_close(pb, h, 0);
	assert_int_equal(port_mem_fault_dial(pa, PORT_MEM_DIAL_BLACKHOLE), 0);
	assert_int_equal(port_tcp_connect(pb, "10.0.0.1:7443", &h), 0);
	port_watch(pb, h, PORT_READ | PORT_WRITE, &h);
	assert_int_equal(events_for(pb, &h), 0);
	assert_int_equal(port_tcp_accept(pa, l, &h, NULL, 0), 0);
	assert_int_equal(port_mem_fault_dial(pa, PORT_MEM_DIAL_NORMAL), 0);
	assert_int_equal(port_tcp_connect(pb, "10.0.0.1:7443", &h), 0);
	assert_int_equal(port_tcp_connect_result(pb, h), 0);
}

static void wall_clock_offsets_per_port(void **state)
{
	(void)state;
	assert_int_equal(port_mem_fault_wall(pa, -7200), 0);
	assert_int_equal(port_mem_fault_wall(pb, 30), 0);
	assert_int_equal(port_wall_s(pa), PORT_MEM_WALL_START - 7200);
	assert_int_equal(port_wall_s(pb), PORT_MEM_WALL_START + 30);
	assert_int_equal(port_mem_wall_s(), PORT_MEM_WALL_START);
	assert_int_equal(port_now_ms(pa), port_now_ms(pb)); /* monotonic: one clock */
	port_mem_fault_clear(pa);
	assert_int_equal(port_wall_s(pa), PORT_MEM_WALL_START);
}

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

static void entropy_fails_on_demand(void **state)
{
	unsigned char b[16];
	size_t olen = 99;

	(void)state;
	port_mem_fault_entropy(1);
	assert_true(port_entropy(pa, b, sizeof(b)) < 0);
	assert_true(mbedtls_hardware_poll(NULL, b, sizeof(b), &olen) != 0);
	assert_int_equal(olen, 0);
	port_mem_fault_entropy(0);
	assert_int_equal(port_entropy(pa, b, sizeof(b)), 0);
	assert_int_equal(mbedtls_hardware_poll(NULL, b, sizeof(b), &olen), 0);
	assert_int_equal(olen, sizeof(b));
}

static void schedule_generator_replays(void **state)
{
	struct port_mem_rng r1, r2;
	unsigned i, hits[7] = {0};

	(void)state;
	port_mem_rng_seed(&r1, 42);
	port_mem_rng_seed(&r2, 42);
	for (i = 0; i < 1000; i++)
		assert_true(port_mem_rng_next(&r1) == port_mem_rng_next(&r2));
	port_mem_rng_seed(&r2, 43);
	assert_true(port_mem_rng_next(&r1) != port_mem_rng_next(&r2));
	for (i = 0; i < 7000; i++) {
		uint32_t v = port_mem_rng_below(&r1, 7);

		assert_true(v < 7);
		hits[v]++;
	}
	for (i = 0; i < 7; i++)
		assert_true(hits[i] > 800 && hits[i] < 1200);
	assert_int_equal(port_mem_rng_below(&r1, 0), 0);
}

/* A restarted process is a new port: the faults of the last one are gone. */
static void a_new_port_starts_without_faults(void **state)
{
	struct port *pc;
	int ha, hb;

	(void)state;
	assert_int_equal(port_mem_fault_cut(pa, pb, 1), 0);
	assert_int_equal(port_mem_fault_wall(pb, 99), 0);
	port_close(pb);
	assert_int_equal(port_open(&pc, 8), 0);
	assert_ptr_equal(pc, pb); /* the same slot */
	assert_int_equal(port_wall_s(pc), PORT_MEM_WALL_START);
	pair("10.0.0.1:7443", &ha, &hb);
	assert_int_equal(port_tcp_send(pb, hb, "k", 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bytes_flow_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(full_buffer_blocks_and_readiness_follows, setup,
						teardown),
		cmocka_unit_test_setup_teardown(shutdown_is_eof_after_the_data, setup, teardown),
		cmocka_unit_test_setup_teardown(abort_and_unread_data_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(nobody_listening_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(wildcard_port_zero_and_backlog, setup, teardown),
		cmocka_unit_test_setup_teardown(clock_moves_only_when_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(handles_are_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(files_from_the_table, setup, teardown),
		cmocka_unit_test_setup_teardown(log_goes_to_the_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(cut_holds_bytes_fin_and_dials_until_the_heal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(cut_holds_a_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(delay_holds_bytes_and_wakes_the_reader, setup,
						teardown),
		cmocka_unit_test_setup_teardown(reset_after_n_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(slow_reader_reads_its_quota_each_10ms, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dials_refused_or_black_holed, setup, teardown),
		cmocka_unit_test_setup_teardown(wall_clock_offsets_per_port, setup, teardown),
		cmocka_unit_test_setup_teardown(entropy_fails_on_demand, setup, teardown),
		cmocka_unit_test_setup_teardown(schedule_generator_replays, setup, teardown),
		cmocka_unit_test_setup_teardown(a_new_port_starts_without_faults, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
