/*
 * unix_diag through libnl: one NLM_F_DUMP request for every unix socket,
 * the answers parsed with libnl's attribute helpers.
 */
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <string.h>
#include <sys/socket.h>

#include "crl/log.h"
#include "crl/nl.h"
#include "crl/util.h"

struct collect {
	struct crl_unix_table *t;
	int err;
};

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct collect *c = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct unix_diag_msg *m;
	struct nlattr *tb[UNIX_DIAG_MAX + 1];
	struct crl_unix_sk *s;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return NL_SKIP;
	m = nlmsg_data(nlh);
	if (nlmsg_parse(nlh, sizeof(*m), tb, UNIX_DIAG_MAX, NULL) < 0)
		return NL_SKIP;
	if (GROW(c->t->sk, c->t->cap, c->t->nr + 1) < 0) {
		c->err = -ENOMEM;
		return NL_STOP;
	}
	s = &c->t->sk[c->t->nr++];
	memset(s, 0, sizeof(*s));
	s->ino = m->udiag_ino;
	s->type = m->udiag_type;
	s->state = m->udiag_state;
	if (tb[UNIX_DIAG_NAME]) {
		s->name_len = MIN((size_t)nla_len(tb[UNIX_DIAG_NAME]), sizeof(s->name));
		memcpy(s->name, nla_data(tb[UNIX_DIAG_NAME]), s->name_len);
	}
	if (tb[UNIX_DIAG_VFS] && nla_len(tb[UNIX_DIAG_VFS]) >= (int)sizeof(struct unix_diag_vfs)) {
		struct unix_diag_vfs *v = nla_data(tb[UNIX_DIAG_VFS]);

		s->has_vfs = true;
		s->vfs_ino = v->udiag_vfs_ino;
		s->vfs_dev = v->udiag_vfs_dev;
	}
	if (tb[UNIX_DIAG_PEER]) {
		s->has_peer = true;
		s->peer_ino = nla_get_u32(tb[UNIX_DIAG_PEER]);
	}
	if (tb[UNIX_DIAG_ICONS])
		s->nr_icons = nla_len(tb[UNIX_DIAG_ICONS]) / sizeof(uint32_t);
	if (tb[UNIX_DIAG_RQLEN] && nla_len(tb[UNIX_DIAG_RQLEN]) >= (int)sizeof(struct unix_diag_rqlen)) {
		struct unix_diag_rqlen *q = nla_data(tb[UNIX_DIAG_RQLEN]);

		s->rqueue = q->udiag_rqueue;
		s->wqueue = q->udiag_wqueue;
	}
	if (tb[UNIX_DIAG_SHUTDOWN])
		s->shutdown = nla_get_u8(tb[UNIX_DIAG_SHUTDOWN]);
	if (tb[UNIX_DIAG_UID])
		s->uid = nla_get_u32(tb[UNIX_DIAG_UID]);
	return NL_OK;
}

static int cmp_ino(const void *a, const void *b)
{
	const struct crl_unix_sk *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

int crl_unix_diag_all(struct crl_unix_table *ret)
{
	struct unix_diag_req req = {
		.sdiag_family = AF_UNIX,
		.udiag_states = ~0U,
		.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS |
			      UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID,
	};
	struct crl_unix_table t = { 0 };
	struct collect c = { .t = &t };
	struct nl_sock *sk;
	int r;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_SOCK_DIAG);
	if (r < 0) {
		nl_socket_free(sk);
		return log_debug_errno(-EPROTONOSUPPORT, "sock_diag: %s", nl_geterror(r));
	}
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, &c);
	r = nl_send_simple(sk, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP | NLM_F_REQUEST, &req, sizeof(req));
	if (r >= 0)
		r = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	if (r < 0) {
		crl_unix_table_free(&t);
		return log_debug_errno(-EIO, "unix_diag: %s", nl_geterror(r));
	}
	if (c.err < 0) {
		crl_unix_table_free(&t);
		return c.err;
	}
	qsort(t.sk, t.nr, sizeof(*t.sk), cmp_ino);
	*ret = t;
	return 0;
}

const struct crl_unix_sk *crl_unix_find(const struct crl_unix_table *t, uint64_t ino)
{
	struct crl_unix_sk key = { .ino = ino };

	return bsearch(&key, t->sk, t->nr, sizeof(key), cmp_ino);
}

void crl_unix_table_free(struct crl_unix_table *t)
{
	free(t->sk);
	t->sk = NULL;
	t->nr = t->cap = 0;
}
