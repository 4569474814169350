/*
 * signals.c: SIGTERM/SIGINT, SIGHUP and SIGUSR1 become PORT_SIG_* bits.
 *
 * Signals belong to the process, not to a port: the handlers and the
 * self-pipe are set up once, by the first port_open(), and stay for the life
 * of the process. Each port's poller watches the pipe's read end, so a signal
 * ends whichever wait is under way at once (the classic self-pipe trick: a
 * flag alone would be missed by a wait that started just after the check).
 * The first port_signals() after a signal reports it. SIGPIPE is ignored;
 * sends also use MSG_NOSIGNAL.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, getrandom, explicit_bzero */
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "port/posix/port_posix.h"

/* One flag per signal kind: setting and clearing a whole flag is atomic. */
static volatile sig_atomic_t sig_term, sig_hup, sig_usr1;
static int pipe_rd = -1, pipe_wr = -1;

static void on_signal(int signo)
{
	int saved = errno;
	char c = 0;

	switch (signo) {
	case SIGTERM:
	case SIGINT:
		sig_term = 1;
		break;
	case SIGHUP:
		sig_hup = 1;
		break;
	case SIGUSR1:
		sig_usr1 = 1;
		break;
	}
	/* A full pipe already holds a wake-up; nothing is lost by failing. */
	if (write(pipe_wr, &c, 1) < 0) {
	}
	errno = saved;
}

int port_signals_setup(void)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	struct sigaction sa;
	int fds[2];
	size_t i;

	if (pipe_rd >= 0)
		return pipe_rd;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
		return errno == EMFILE || errno == ENFILE ? TETHER_ERR_NOMEM : TETHER_ERR_IO;
	pipe_rd = fds[0];
	pipe_wr = fds[1];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		goto err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* Other calls resume; epoll_wait and poll still return EINTR. */
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) != 0)
			goto err;
	}
	return pipe_rd;

err:
	close(pipe_rd);
	close(pipe_wr);
	pipe_rd = pipe_wr = -1;
	return TETHER_ERR_IO;
}

void port_signals_drain(void)
{
	char buf[64];

	while (read(pipe_rd, buf, sizeof(buf)) > 0) {
	}
}

unsigned port_signals(struct port *p)
{
	unsigned bits = 0;

	(void)p;
	if (sig_term) {
		sig_term = 0;
		bits |= PORT_SIG_TERM;
	}
	if (sig_hup) {
		sig_hup = 0;
		bits |= PORT_SIG_HUP;
	}
	if (sig_usr1) {
		sig_usr1 = 0;
		bits |= PORT_SIG_USR1;
	}
	return bits;
}
