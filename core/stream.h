/*
 * stream.h: one stream's local side, coupled to its frame state in the mux.
 * Private to core/.
 *
 * The mux owns the stream's frames, windows and receive ring; this driver
 * moves bytes between the ring and the local endpoint (endpoint.h) and ends
 * the stream, through stream_end() only, with a reason that is counted.
 */
#ifndef TETHER_STREAM_H
#define TETHER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/endpoint.h"
#include "core/mux.h"
#include "core/reason.h"
#include "core/settings.h"

struct session;
struct tether_node;

struct stream {
	uint8_t kind; /* OBJ_STREAM */
	struct mux_stream m;
	struct session *s;
	struct endpoint ep; /* the local side */
	bool outbound;	    /* we opened it (a forward) */
	bool connecting;    /* local connect to the service's target under way */
	bool local_shut;    /* local write side shut down after rx_closed */
	bool close_seen;    /* our CLOSE left; acted on once */
	int pull_err;	    /* TETHER_ERR_* the local side failed with */
	bool dead;	    /* ended; released at the end of the node's step */
	bool flush_owed;    /* DATA landed in this read pass: written out when it ends */
	struct stream *next_dead;
};

/*
 * Streams one session may hold at once (its forwards and the peer's OPENs
 * together): limits.streams_per_session, or when that is 0 the default rule
 *   max(1, limits.streams / min(limits.sessions, peers + 1))
 * so that one session per configured peer plus one more (a roll or a
 * duplicate draining beside its successor) can each hold the whole cap at
 * once. README "Config reference" states what that guarantees.
 */
uint32_t stream_session_cap(const struct tether_config *cfg);
/* A forward's connection h becomes a stream to service on s; NULL if refused (h is closed). */
struct stream *stream_forward(struct session *s, int h, const char *service, const char *from);
/* The peer opened stream id for service (MUX_EV_OPEN): connect its target or refuse. */
void stream_open_service(struct session *s, uint32_t id, const char *service);
/*
 * Refuse a stream that never was one: count, log (peer, service, stream id or
 * the forward's client), and owe RESET code on s (may be NULL) if code != 0.
 */
void stream_refuse(struct tether_node *n, struct session *s, const char *peer, uint32_t id,
		   const char *service, const char *from, enum tether_reason why, uint32_t code);
void stream_event(struct stream *st, unsigned events);
/* A mux event for st (DATA, CLOSE, RESET, WINDOW, STREAM_ERROR). */
void stream_on_mux(struct stream *st, const struct mux_event *ev);
/*
 * A read pass of s ended: write out what DATA brought to each stream in it,
 * one send per stream however many records it came in (TETHER_IO_BATCH).
 */
void stream_flush_owed(struct session *s);
/* After output: end streams whose pull failed, complete the ones done. */
void stream_after_output(struct stream *st);
/* End the stream; code != 0 owes RESET code to the peer; abort resets the local side. */
void stream_end(struct stream *st, bool abort, uint32_t code, enum tether_reason why,
		const char *detail);
void stream_update_watch(struct stream *st);
/* The mux's pull: read the local side into dst. */
long stream_pull(void *user, struct mux_stream *ms, uint8_t *dst, size_t room);

static inline struct stream *stream_of(struct mux_stream *ms)
{
	return (struct stream *)((char *)ms - offsetof(struct stream, m));
}

#endif
