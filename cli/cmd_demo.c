/*
 * cmd_demo.c: `tether demo`: two real nodes on loopback with a throwaway PKI.
 *
 * The demo makes a CA and two node certificates with tether's own code, writes
 * two configs, and runs two `tether run` processes: "alpha" exports a service
 * whose target is a sink in this process, "beta" dials alpha and forwards a
 * local port to that service. This process pushes pseudo-random bytes through
 * beta's forward, hashes what reaches the sink, compares, and reports what the
 * nodes logged: the handshake, throughput, memory per session, pool use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <mbedtls/sha256.h>

#include "base/err.h"
#include "cli/cli.h"
#include "core/log.h"
#include "pki/pki_set.h"

#define DEMO_HEAP (256 * 1024)

struct node_proc {
	const char *name;
	pid_t pid;
	int log_fd;
	char partial[1024];
	size_t partial_len;
	char session_up[1024]; /* the session_up line */
	char status[1024];     /* the last status line */
	char exit_line[256];
	int up;
	int listening;
};

static const char demo_usage[] =
	"usage: tether demo [--bytes N] [--keep]\n"
	"\n"
	"Run two tether nodes on 127.0.0.1 with a throwaway CA, push N bytes (default\n"
	"32 MiB) through a forward to a service exported by the other node, check the\n"
	"SHA-256 end to end, and report handshake, throughput and memory figures.\n"
	"--keep leaves the temporary folder (certificates, configs) in place.\n";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_file(const char *dir, const char *name, const void *buf, size_t len, int mode)
{
	char path[512];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	ok = fchmod(fd, (mode_t)mode) == 0 && write(fd, buf, len) == (ssize_t)len;
	return close(fd) == 0 && ok ? 0 : -1;
}

/* A free loopback port: bind to port 0 and read back what the kernel chose. */
static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* pki_set's callback: ca.crt, <name>.crt and <name>.key (0600) in the folder ctx. */
static int put_file(void *ctx, const char *name, const char *kind, const unsigned char *pem,
		    size_t len)
{
	char file[64];
	int key = strcmp(kind, "key") == 0;

	snprintf(file, sizeof(file), "%s.%s", name != NULL ? name : "ca", kind);
	return write_file(ctx, file, pem, len, key ? 0600 : 0644) == 0 ? 0 : TETHER_ERR_FILE;
}

static int make_pki(const char *dir)
{
	static const struct pki_set_node nodes[2] = {
		{"alpha", "spiffe://demo.tether/alpha"},
		{"beta", "spiffe://demo.tether/beta"},
	};
	struct pki_set_spec spec;
	int64_t now = (int64_t)time(NULL);

	memset(&spec, 0, sizeof(spec));
	spec.ca_cn = "tether demo CA";
	spec.not_before = now - 60;
	spec.not_after = now + 86400;
	spec.nodes = nodes;
	spec.n_nodes = 2;
	return pki_set_make(&spec, put_file, (void *)dir);
}

static int write_configs(const char *dir, int p_alpha, int p_fwd, int p_sink)
{
	char cfg[2048];
	int n;

	n = snprintf(cfg, sizeof(cfg),
		     "{\n"
		     "  \"node\": \"alpha\",\n"
		     "  \"identity\": {\"cert\": \"alpha.crt\", \"key\": \"alpha.key\", \"ca\": "
		     "\"ca.crt\"},\n"
		     "  \"listen\": \"127.0.0.1:%d\",\n"
		     "  \"peers\": {\"beta\": {\"id\": \"spiffe://demo.tether/beta\"}},\n"
		     "  \"services\": {\"sink\": {\"target\": \"127.0.0.1:%d\", \"allow\": "
		     "[\"beta\"]}},\n"
		     "  \"limits\": {\"sessions\": 4, \"streams\": 16, \"handshakes\": 2}\n"
		     "}\n",
		     p_alpha, p_sink);
	if (write_file(dir, "alpha.json", cfg, (size_t)n, 0644) != 0)
		return -1;
	n = snprintf(cfg, sizeof(cfg),
		     "{\n"
		     "  \"node\": \"beta\",\n"
		     "  \"identity\": {\"cert\": \"beta.crt\", \"key\": \"beta.key\", \"ca\": "
		     "\"ca.crt\"},\n"
		     "  \"peers\": {\"alpha\": {\"connect\": \"127.0.0.1:%d\", \"id\": "
		     "\"spiffe://demo.tether/alpha\"}},\n"
		     "  \"forwards\": [{\"listen\": \"127.0.0.1:%d\", \"peer\": \"alpha\", "
		     "\"service\": \"sink\"}],\n"
		     "  \"limits\": {\"sessions\": 4, \"streams\": 16, \"handshakes\": 2}\n"
		     "}\n",
		     p_alpha, p_fwd);
	return write_file(dir, "beta.json", cfg, (size_t)n, 0644);
}

static int spawn(struct node_proc *np, const char *dir)
{
	char cfg[512];
	int fds[2];

	snprintf(cfg, sizeof(cfg), "%s/%s.json", dir, np->name);
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	np->pid = fork();
	if (np->pid < 0)
		return -1;
	if (np->pid == 0) {
		dup2(fds[1], 2);
		execl("/proc/self/exe", "tether", "run", "-c", cfg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	np->log_fd = fds[0];
	fcntl(np->log_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

static void remember(struct node_proc *np, const char *line)
{
	if (strstr(line, "event=listen ") != NULL) {
		np->listening = 1;
	} else if (strstr(line, "event=session_up") != NULL) {
		snprintf(np->session_up, sizeof(np->session_up), "%s", line);
		np->up = 1;
	} else if (strstr(line, "event=status ") != NULL) {
		snprintf(np->status, sizeof(np->status), "%s", line);
	} else if (strstr(line, "event=exit") != NULL) {
		snprintf(np->exit_line, sizeof(np->exit_line), "%.200s", line);
	}
}

/* Show the node's log lines as they come, and keep the ones the report needs. */
static void drain_log(struct node_proc *np)
{
	char buf[4096];
	ssize_t r = -1;

	while (np->log_fd >= 0 && (r = read(np->log_fd, buf, sizeof(buf))) > 0) {
		ssize_t i;

		for (i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (np->partial_len < sizeof(np->partial) - 1)
					np->partial[np->partial_len++] = buf[i];
				continue;
			}
			np->partial[np->partial_len] = '\0';
			printf("  [%s] %s\n", np->name, np->partial);
			remember(np, np->partial);
			np->partial_len = 0;
		}
	}
	if (r == 0) {
		close(np->log_fd);
		np->log_fd = -1;
	}
}

static void wait_logs(struct node_proc *np, int n, double deadline,
		      int (*done)(struct node_proc *, int))
{
	while (!done(np, n) && now_s() < deadline) {
		struct pollfd pf[2];
		int i;

		for (i = 0; i < n; i++) {
			pf[i].fd = np[i].log_fd;
			pf[i].events = POLLIN;
		}
		poll(pf, (nfds_t)n, 100);
		for (i = 0; i < n; i++)
			drain_log(&np[i]);
	}
}

static int alpha_listening(struct node_proc *np, int n)
{
	(void)n;
	return np[0].listening;
}

static int both_up(struct node_proc *np, int n)
{
	return n == 2 && np[0].up && np[1].up;
}

static int both_status(struct node_proc *np, int n)
{
	return n == 2 && np[0].status[0] && np[1].status[0];
}

static int both_exited(struct node_proc *np, int n)
{
	return n == 2 && np[0].log_fd < 0 && np[1].log_fd < 0;
}

/*
 * The data: one 64 KB block of xorshift bytes (they do not compress), each
 * copy stamped with its index so no two chunks are alike. Cheap to make again,
 * so the sender's hash is computed before the clock starts.
 */
#define CHUNK 65536

static void make_block(unsigned char *block)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < CHUNK; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		block[i] = (unsigned char)(x >> 24);
	}
}

static size_t make_chunk(const unsigned char *block, unsigned char *out, uint64_t index,
			 size_t left)
{
	size_t n = left < CHUNK ? left : CHUNK;

	memcpy(out, block, n);
	memcpy(out, &index, n < sizeof(index) ? n : sizeof(index));
	return n;
}

static void expected_hash(const unsigned char *block, size_t total, unsigned char out[32])
{
	static unsigned char chunk[CHUNK];
	mbedtls_sha256_context h;
	uint64_t i = 0;
	size_t done = 0;

	mbedtls_sha256_init(&h);
	mbedtls_sha256_starts(&h, 0);
	while (done < total) {
		size_t n = make_chunk(block, chunk, i++, total - done);

		mbedtls_sha256_update(&h, chunk, n);
		done += n;
	}
	mbedtls_sha256_finish(&h, out);
	mbedtls_sha256_free(&h);
}

/* Push total bytes into the forward while draining the sink; hash both ends. */
static int transfer(int p_fwd, int sink_lfd, size_t total, const unsigned char *block,
		    unsigned char got_hash[32], size_t *got_total, struct node_proc *np)
{
	static unsigned char out[CHUNK], in[65536];
	mbedtls_sha256_context hr;
	struct sockaddr_in a;
	uint64_t index = 0;
	size_t sent = 0, out_len = 0, out_off = 0;
	int cfd, sfd = -1, ret = -1, one = 1;
	double deadline = now_s() + 120;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)p_fwd);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		fprintf(stderr, "tether demo: cannot connect to the forward: %s\n",
			strerror(errno));
		goto out;
	}
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(cfd, F_SETFL, O_NONBLOCK);
	mbedtls_sha256_init(&hr);
	mbedtls_sha256_starts(&hr, 0);
	*got_total = 0;
	while (now_s() < deadline) {
		struct pollfd pf[5];
		int n = 0, i;

		pf[n].fd = cfd;
		pf[n++].events = (short)(sent < total || out_off < out_len ? POLLOUT : POLLIN);
		pf[n].fd = sfd >= 0 ? sfd : sink_lfd;
		pf[n++].events = POLLIN;
		for (i = 0; i < 2; i++) {
			pf[n].fd = np[i].log_fd;
			pf[n++].events = POLLIN;
		}
		if (poll(pf, (nfds_t)n, 1000) < 0 && errno != EINTR)
			goto out;
		for (i = 0; i < 2; i++)
			drain_log(&np[i]);
		if (sfd < 0 && (pf[1].revents & POLLIN)) {
			sfd = accept4(sink_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			continue;
		}
		if (sfd >= 0 && (pf[1].revents & (POLLIN | POLLHUP))) {
			ssize_t r;

			while ((r = read(sfd, in, sizeof(in))) > 0) {
				mbedtls_sha256_update(&hr, in, (size_t)r);
				*got_total += (size_t)r;
			}
			if (r == 0) {
				ret = 0;
				break;
			}
			if (errno != EAGAIN) {
				fprintf(stderr, "tether demo: sink read failed: %s\n",
					strerror(errno));
				goto out;
			}
		}
		if (pf[0].revents & POLLOUT) {
			for (;;) {
				ssize_t w;

				if (out_off == out_len) {
					if (sent == total) {
						shutdown(cfd, SHUT_WR);
						break;
					}
					out_len = make_chunk(block, out, index++, total - sent);
					sent += out_len;
					out_off = 0;
				}
				w = write(cfd, out + out_off, out_len - out_off);
				if (w <= 0)
					break;
				out_off += (size_t)w;
			}
		}
		if (pf[0].revents & (POLLERR | POLLHUP)) {
			fprintf(stderr, "tether demo: the forward connection failed\n");
			goto out;
		}
	}
	if (ret != 0)
		fprintf(stderr, "tether demo: transfer did not finish in time\n");
	mbedtls_sha256_finish(&hr, got_hash);
	mbedtls_sha256_free(&hr);
out:
	if (cfd >= 0)
		close(cfd);
	if (sfd >= 0)
		close(sfd);
	return ret;
}

static void hex(const unsigned char *h, char *out)
{
	int i;

	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

static int sink_listen(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void rm_dir(const char *dir)
{
	const char *files[] = {"ca.crt",   "alpha.crt",	 "alpha.key", "beta.crt",
			       "beta.key", "alpha.json", "beta.json"};
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int cmd_demo(int argc, char **argv)
{
	struct node_proc np[2];
	char dir[] = "/tmp/tether-demo-XXXXXX";
	static unsigned char block[CHUNK];
	unsigned char h_sent[32], h_got[32];
	char hs[65], hg[65], v[6][64];
	size_t total = 32u << 20, got = 0;
	int keep = 0, i, code = EXIT_RUNTIME, p_alpha, p_fwd, p_sink = 0, sink_fd;
	double t0, secs;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(demo_usage, stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--keep") == 0) {
			keep = 1;
		} else if (strcmp(argv[i], "--bytes") == 0 && i + 1 < argc) {
			char *end;
			unsigned long long n = strtoull(argv[++i], &end, 10);

			if (*end != '\0' || n == 0 || n > (1ull << 40)) {
				fprintf(stderr, "tether demo: --bytes wants a positive number\n");
				return EXIT_USAGE;
			}
			total = (size_t)n;
		} else {
			fprintf(stderr, "tether demo: unexpected argument \"%s\"\n%s", argv[i],
				demo_usage);
			return EXIT_USAGE;
		}
	}
	memset(np, 0, sizeof(np));
	np[0].name = "alpha";
	np[1].name = "beta";
	np[0].log_fd = np[1].log_fd = -1;
	signal(SIGPIPE, SIG_IGN);

	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "tether demo: cannot make a temporary folder: %s\n",
			strerror(errno));
		return EXIT_RUNTIME;
	}
	printf("tether demo: throwaway PKI and configs in %s\n", dir);
	if (cli_crypto_init(DEMO_HEAP) != 0)
		goto out;
	if (make_pki(dir) != 0) {
		fprintf(stderr, "tether demo: certificate generation failed\n");
		goto out;
	}
	printf("  CA \"tether demo CA\"; alpha = spiffe://demo.tether/alpha, beta = "
	       "spiffe://demo.tether/beta (ECDSA P-256, made by tether itself)\n");
	sink_fd = sink_listen(&p_sink);
	p_alpha = free_port();
	p_fwd = free_port();
	if (sink_fd < 0 || p_alpha < 0 || p_fwd < 0 ||
	    write_configs(dir, p_alpha, p_fwd, p_sink) != 0) {
		fprintf(stderr, "tether demo: cannot prepare loopback ports and configs\n");
		goto out;
	}
	printf("  alpha listens on 127.0.0.1:%d and exports service \"sink\" (target "
	       "127.0.0.1:%d, this process) to beta\n",
	       p_alpha, p_sink);
	printf("  beta dials alpha and forwards 127.0.0.1:%d to alpha/sink\n\n", p_fwd);
	if (spawn(&np[0], dir) != 0 ||
	    (wait_logs(np, 1, now_s() + 10, alpha_listening), spawn(&np[1], dir)) != 0) {
		fprintf(stderr, "tether demo: cannot start the nodes: %s\n", strerror(errno));
		goto stop;
	}
	wait_logs(np, 2, now_s() + 20, both_up);
	if (!both_up(np, 2)) {
		fprintf(stderr, "tether demo: the session did not come up within 20 s\n");
		goto stop;
	}
	make_block(block);
	expected_hash(block, total, h_sent);
	printf("\n  pushing %zu bytes through beta -> alpha -> sink ...\n", total);
	t0 = now_s();
	if (transfer(p_fwd, sink_fd, total, block, h_got, &got, np) != 0)
		goto stop;
	secs = now_s() - t0;
	for (i = 0; i < 2; i++)
		kill(np[i].pid, SIGUSR1);
	wait_logs(np, 2, now_s() + 5, both_status);
	hex(h_sent, hs);
	hex(h_got, hg);

	printf("\nreport\n");
	log_field(np[1].session_up, "tls", v[0], sizeof(v[0]));
	log_field(np[1].session_up, "suite", v[1], sizeof(v[1]));
	log_field(np[1].session_up, "handshake_ms", v[2], sizeof(v[2]));
	log_field(np[1].session_up, "id", v[3], sizeof(v[3]));
	printf("  handshake: beta -> alpha, peer id %s, TLS %s, %s, %s ms\n", v[3], v[0], v[1],
	       v[2]);
	printf("  transfer:  %zu bytes sent, %zu received, %.2f s, %.1f MB/s\n", total, got, secs,
	       (double)got / 1e6 / (secs > 0 ? secs : 1e-9));
	printf("  sha256:    sent %s\n             got  %s  %s\n", hs, hg,
	       strcmp(hs, hg) == 0 && got == total ? "MATCH" : "MISMATCH");
	for (i = 0; i < 2; i++) {
		log_field(np[i].session_up, "mem", v[0], sizeof(v[0]));
		log_field(np[i].session_up, "handshake_peak", v[1], sizeof(v[1]));
		log_field(np[i].status, "streams_high", v[2], sizeof(v[2]));
		log_field(np[i].status, "sessions_high", v[3], sizeof(v[3]));
		log_field(np[i].status, "heap_peak", v[4], sizeof(v[4]));
		log_field(np[i].status, "heap_size", v[5], sizeof(v[5]));
		printf("  %-5s memory: %s bytes per established session (TLS state + session "
		       "struct), %s at the handshake peak;\n"
		       "               pools: sessions high-water %s, streams high-water %s; TLS "
		       "heap peak %s of %s bytes\n",
		       np[i].name, v[0], v[1], v[3], v[2], v[4], v[5]);
	}
	code = strcmp(hs, hg) == 0 && got == total ? EXIT_OK : EXIT_RUNTIME;
stop:
	for (i = 0; i < 2; i++)
		if (np[i].pid > 0)
			kill(np[i].pid, SIGTERM);
	wait_logs(np, 2, now_s() + 10, both_exited);
	for (i = 0; i < 2; i++) {
		int st = 0;

		if (np[i].pid <= 0)
			continue;
		if (np[i].log_fd >= 0)
			kill(np[i].pid, SIGKILL);
		waitpid(np[i].pid, &st, 0);
		if (np[i].exit_line[0])
			printf("  %-5s %s\n", np[i].name,
			       strstr(np[i].exit_line, "allocs_after_start=0 ") != NULL
				       ? "made no allocation after start-up"
				       : np[i].exit_line);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("  %-5s did not exit cleanly (status %d)\n", np[i].name, st);
			code = EXIT_RUNTIME;
		}
	}
	printf("%s\n", code == EXIT_OK ? "demo: ok" : "demo: FAILED");
out:
	cli_crypto_done();
	if (!keep)
		rm_dir(dir);
	return code;
}
