/* check.h: impossible combinations of opts.h knobs stop the build. */
#ifndef TETHER_CHECK_H
#define TETHER_CHECK_H

#if TETHER_CRL_MESH && !TETHER_RELOAD
#error "TETHER_CRL_MESH needs TETHER_RELOAD (a CRL from a peer is applied as a reload)"
#endif
#if TETHER_RENEW && !TETHER_RELOAD
#error "TETHER_RENEW needs TETHER_RELOAD (a renewed certificate is applied as a reload)"
#endif
/* A RENEW_ANS (8 + 1 + FRAME_RENEW_DER_MAX bytes) fits one record. */
#if TETHER_RENEW && TETHER_RECORD_SIZE < 2057
#error "TETHER_RENEW needs TETHER_RECORD_SIZE of at least 2057 (one RENEW_ANS frame)"
#endif
#if TETHER_RECORD_SIZE < 1032 || TETHER_RECORD_SIZE > 16384
#error "TETHER_RECORD_SIZE must be within 1032..16384 (a HELLO announces at least 1024 + 8)"
#endif
#if TETHER_IO_BATCH != 0 && TETHER_IO_BATCH < 2 * (TETHER_RECORD_SIZE + 256)
#error "TETHER_IO_BATCH must be 0 (built out) or hold two records at least"
#endif
#if TETHER_DEFAULT_STREAM_WINDOW < TETHER_MIN_STREAM_WINDOW
#error "TETHER_DEFAULT_STREAM_WINDOW is below TETHER_MIN_STREAM_WINDOW"
#endif
#if TETHER_DEFAULT_SESSIONS < 1 || TETHER_DEFAULT_SESSIONS > TETHER_MAX_SESSIONS
#error "TETHER_DEFAULT_SESSIONS must be within 1..TETHER_MAX_SESSIONS"
#endif
#if TETHER_DEFAULT_STREAMS < 1 || TETHER_DEFAULT_STREAMS > TETHER_MAX_STREAMS
#error "TETHER_DEFAULT_STREAMS must be within 1..TETHER_MAX_STREAMS"
#endif
#if TETHER_DEFAULT_HANDSHAKES < 1
#error "TETHER_DEFAULT_HANDSHAKES must be at least 1"
#endif

#endif
