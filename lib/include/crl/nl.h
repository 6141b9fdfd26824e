/*
 * Netlink queries, through libnl: the unix sockets of the network
 * namespace as NETLINK_SOCK_DIAG (unix_diag) describes them.
 */
#ifndef CRL_NL_H
#define CRL_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>

/* Socket options and messages of unix sockets that the installed headers
 * may predate. */
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76 /* Linux 6.5 */
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83 /* Linux 6.16 */
#endif
#ifndef SO_TIMESTAMP_NEW
#define SO_TIMESTAMP_NEW 63
#define SO_TIMESTAMPNS_NEW 64
#endif

struct crl_unix_sk {
	uint64_t ino;
	uint32_t type;          /* SOCK_STREAM... */
	uint32_t state;         /* TCP_* as unix_diag reports */
	bool has_peer;          /* connected: it points at a peer... */
	uint64_t peer_ino;      /* ...whose inode is 0 once it is closed, or
				 * while a listener has not accepted it */
	char name[110];         /* sun_path bytes; name_len 0: unbound */
	size_t name_len;        /* abstract names start with a NUL byte */
	bool has_vfs;
	uint64_t vfs_dev, vfs_ino;
	uint32_t rqueue, wqueue; /* UNIX_DIAG_RQLEN; for a listener: pending and backlog */
	uint32_t nr_icons;      /* connections waiting to be accepted */
	uint32_t shutdown;      /* RCV_SHUTDOWN 1, SEND_SHUTDOWN 2 */
	uint32_t uid;
};

struct crl_unix_table {
	struct crl_unix_sk *sk;  /* sorted by ino */
	size_t nr, cap;
};

/* Every unix socket of criu-lite's network namespace. Returns 0 or -errno. */
int crl_unix_diag_all(struct crl_unix_table *ret);
const struct crl_unix_sk *crl_unix_find(const struct crl_unix_table *t, uint64_t ino);
void crl_unix_table_free(struct crl_unix_table *t);

#endif
