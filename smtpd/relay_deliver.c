/*
 * relay_deliver.c - a delivery thread (relay.h): every due message of one
 * destination over one connection.
 *
 * It claims a message first and resolves the domain only then, so a
 * thread started for mail another thread took ends at once. Hosts are
 * tried in MX order, each address in turn (RFC 5321 5.1); once none
 * answers, the destination is taken as down for this round: the other
 * messages due for it are deferred without trying again (each would
 * wait out the same timeouts). Outcomes per recipient: 2xx delivered,
 * 5xx failed (a bounce follows), anything else pending with the next
 * attempt retry_min doubling to retry_max, or failed once the message is
 * older than the lifetime (RFC 5321 4.5.4.1).
 */
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "smtpd/relay.h"
#include "smtpd/smtp_client.h"

struct deliver_job {
	struct relay *r;
	char domain[LIMIT_ADDR_DOMAIN + 1];	/* "" for the smarthost */
	struct store *st;
	struct relay_route route;
	bool resolved;
	int dns_status;			/* RELAY_DNS_*, once resolved */
	char why[800];			/* the DNS failure, or the last
					   connection failure (host: text) */
	struct smtp_client *client;
	char host[256];			/* client's host */
	bool down;			/* no host answered this round */
};

int64_t
relay_next_attempt(const struct config_outbound *out, int64_t now,
    int attempts)
{
	int64_t wait = out->retry_min;

	for (int i = 1; i < attempts && wait < out->retry_max; i++)
		wait *= 2;
	return now + (wait < out->retry_max ? wait : out->retry_max);
}

/* Reading the queued message for smtp_client_send(). */
struct msg_reader {
	struct store *st;
	int64_t id;
	int64_t off;
};

static int
msg_read(void *arg, char *buf, size_t cap, size_t *len_r)
{
	struct msg_reader *m = arg;

	if (store_queue_read(m->st, m->id, m->off, buf, cap, len_r) != 0)
		return -1;
	m->off += (int64_t)*len_r;
	return 0;
}

/* resolve: the destination's hosts, once per thread. */
static void
resolve(struct deliver_job *j)
{
	struct relay *r = j->r;

	j->resolved = true;
	if (r->smarthost[0] != '\0') {
		j->route.nhost = 1;
		j->dns_status = relay_dns_host(r->dns, r->smarthost,
		    r->smarthost_port, &j->route.host[0], j->why,
		    sizeof(j->why));
		if (j->dns_status == RELAY_DNS_NO_DOMAIN)
			j->dns_status = RELAY_DNS_TEMP;	/* our config, not
							   the recipient */
	} else {
		j->dns_status = relay_dns_route(r->dns, j->domain,
		    r->out->port, &j->route, j->why, sizeof(j->why));
	}
}

/* client_opts: how to speak to the destination. */
static void
client_opts(const struct relay *r, struct smtp_client_opts *o,
    const char *host)
{
	memset(o, 0, sizeof(*o));
	o->helo = r->cfg->hostname;
	o->connect_timeout_ms = (int)r->out->connect_timeout * 1000;
	o->timeout_scale = 1.0;
	o->stop_fd = r->stop_fd;
	/* An address literal ("[192.0.2.1]") names no host to check. */
	o->tls_name = host[0] != '[' ? host : NULL;
	if (r->smarthost[0] != '\0') {
		/* Credentials go only over a verified TLS session. */
		o->tls = r->out->relay_implicit_tls ?
		    SMTP_CLIENT_TLS_IMPLICIT : SMTP_CLIENT_TLS_REQUIRE;
		o->tls_ctx = r->tls_smarthost;
		o->auth_user = r->out->relay_user;
		o->auth_password = r->out->relay_password;
	} else {
		o->tls = r->out->tls ? SMTP_CLIENT_TLS_MAY :
		    SMTP_CLIENT_TLS_NONE;
		o->tls_ctx = r->tls_mx;
	}
}

/* connect_any: a connection to the first host and address that takes
 * one; false with j->why when none did. */
static bool
connect_any(struct deliver_job *j)
{
	struct smtp_client_reply reply;

	for (size_t h = 0; h < j->route.nhost; h++) {
		const struct relay_host *host = &j->route.host[h];
		struct smtp_client_opts o;

		client_opts(j->r, &o, host->name);
		for (size_t a = 0; a < host->naddr; a++) {
			int ret;

			if (relay_stopping(j->r, true))
				return false;
			memset(&reply, 0, sizeof(reply));
			ret = smtp_client_open((const struct sockaddr *)
			    &host->addr[a], host->addr_len[a], &o, &j->client,
			    &reply);
			if (ret != 0 && reply.tls_failed &&
			    o.tls == SMTP_CLIENT_TLS_MAY) {
				/* Opportunistic TLS that fails is no TLS
				 * (RFC 7435 6): the same host, in clear. */
				log_info("relay: %s: %s; trying without TLS",
				    host->name, reply.text);
				o.tls = SMTP_CLIENT_TLS_NONE;
				memset(&reply, 0, sizeof(reply));
				ret = smtp_client_open((const struct sockaddr *)
				    &host->addr[a], host->addr_len[a], &o,
				    &j->client, &reply);
				o.tls = SMTP_CLIENT_TLS_MAY;
			}
			if (ret == 0) {
				snprintf(j->host, sizeof(j->host), "%s",
				    host->name);
				char ip[64];

				if (getnameinfo((const struct sockaddr *)
				    &host->addr[a], host->addr_len[a], ip,
				    sizeof(ip), NULL, 0, NI_NUMERICHOST) != 0)
					strcpy(ip, "?");
				log_info("relay: connected to %s [%s] for %s%s%s",
				    host->name, ip, j->domain[0] != '\0'
				    ? j->domain : "the smarthost",
				    smtp_client_tls(j->client) != NULL ? ", " : "",
				    smtp_client_tls(j->client) != NULL ?
				    smtp_client_tls(j->client) : "");
				return true;
			}
			log_info("relay: %s: %s", host->name, reply.text);
			snprintf(j->why, sizeof(j->why), "%s: %s", host->name,
			    reply.text);
		}
	}
	if (j->route.nhost == 0)
		snprintf(j->why, sizeof(j->why), "no host to connect to");
	return false;
}

/* outcome: one recipient's next state from its reply. */
static void
outcome(const struct relay *r, const struct store_queue_msg *m,
    const struct store_queue_rcpt *rc, const struct smtp_client_reply *rep,
    const char *host, int64_t now, struct store_queue_outcome *o,
    char *answer, size_t answer_size)
{
	o->rcpt_id = rc->id;
	o->code = rep->code;
	o->remote_mta = host;
	snprintf(answer, answer_size, "%s", rep->text);
	o->answer = answer;
	if (rep->code >= 200 && rep->code < 300) {
		o->state = STORE_QUEUE_DELIVERED;
	} else if (rep->code >= 500 && rep->code < 600) {
		o->state = STORE_QUEUE_FAILED;
	} else if (now - m->created >= r->out->lifetime) {
		o->state = STORE_QUEUE_FAILED;
		snprintf(answer, answer_size, RELAY_EXPIRED " (last: %s)",
		    rep->text);
		o->code = 0;
	} else {
		o->state = STORE_QUEUE_PENDING;
		o->next_attempt = relay_next_attempt(r->out, now,
		    rc->attempts + 1);
	}
}

/* no_answer: no server answered for any recipient. */
static bool
no_answer(const struct smtp_client_reply *rep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rep[i].code != 0)
			return false;
	return true;
}

/* deliver_msg: one claimed message; every recipient gets an outcome. */
static void
deliver_msg(struct deliver_job *j, struct store_queue_msg *m)
{
	struct relay *r = j->r;
	struct smtp_client_reply *rep = xcalloc(m->nrcpts, sizeof(*rep));
	struct store_queue_outcome *out = xcalloc(m->nrcpts, sizeof(*out));
	char (*answers)[512] = xcalloc(m->nrcpts, sizeof(*answers));
	const char **rcpts = xcalloc(m->nrcpts, sizeof(*rcpts));
	const char *host = "";
	int64_t now;
	int ret;

	if (!j->resolved)
		resolve(j);
	if (j->dns_status == RELAY_DNS_NULL_MX ||
	    j->dns_status == RELAY_DNS_NO_DOMAIN) {
		/* RFC 7505 3.2 / RFC 5321 5.1: nothing to retry. */
		for (size_t i = 0; i < m->nrcpts; i++) {
			rep[i].code = j->dns_status == RELAY_DNS_NULL_MX ?
			    556 : 550;
			snprintf(rep[i].text, sizeof(rep[i].text),
			    "%d %s %.480s", rep[i].code, j->dns_status == RELAY_DNS_NULL_MX ?
			    "5.1.10" : "5.1.2", j->why);
		}
	} else if (j->dns_status != RELAY_DNS_OK || j->down ||
	    (j->client == NULL && (j->down = !connect_any(j)))) {
		for (size_t i = 0; i < m->nrcpts; i++) {
			rep[i].code = 0;
			/* why may be longer: a reply's text is cut. */
			snprintf(rep[i].text, sizeof(rep[i].text), "%.*s",
			    (int)sizeof(rep[i].text) - 1, j->why);
		}
	} else {
		struct msg_reader reader = { j->st, m->id, 0 };
		struct smtp_client_msg cm = {
			.sender = m->sender,
			.rcpts = rcpts,
			.nrcpts = m->nrcpts,
			.size = m->size,
			.body_8bit = m->body_8bit,
			.smtputf8 = m->smtputf8,
			.read = msg_read,
			.read_arg = &reader,
		};

		for (size_t i = 0; i < m->nrcpts; i++)
			rcpts[i] = m->rcpts[i].address;
		host = j->host;
		if (!smtp_client_send(j->client, &cm, rep))
			smtp_client_close(&j->client);
	}
	if (relay_stopping(r, true) && no_answer(rep, m->nrcpts)) {
		/* Cut short by the stop: the leases go back untouched
		 * (relay_run), this was no attempt. */
		goto out;
	}
	now = (int64_t)time(NULL);
	for (size_t i = 0; i < m->nrcpts; i++) {
		outcome(r, m, &m->rcpts[i], &rep[i], host, now, &out[i],
		    answers[i], sizeof(answers[i]));
		log_info("relay: id=%s to=<%s> host=%s tls=%s result=%s "
		    "answer=%s", m->qid, m->rcpts[i].address,
		    host[0] != '\0' ? host : "-",
		    j->client != NULL && smtp_client_tls(j->client) != NULL ?
		    smtp_client_tls(j->client) : "-",
		    out[i].state == STORE_QUEUE_DELIVERED ? "delivered" :
		    out[i].state == STORE_QUEUE_FAILED ? "failed" : "deferred",
		    answers[i]);
	}
	/* The outcome must be written: until it is, the lease hides these
	 * recipients from everyone (and a restart would send them again).
	 * A busy or full database is waited out; a stop leaves the lease to
	 * relay_run(), which gives it back. */
	while ((ret = store_queue_record(j->st, r->pid, now, out,
	    m->nrcpts)) != 0) {
		log_error("relay: id=%s recording outcomes: %s; trying again",
		    m->qid, store_strerror(ret));
		if (relay_sleep(r, 1000))
			break;
	}
out:
	free(rcpts);
	free(answers);
	free(out);
	free(rep);
}

/* dest_release: a thread for domain is gone (or never started). */
static void
dest_release(struct relay *r, const char *domain)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->ndest; i++)
		if (strcmp(r->dest[i].domain, domain) == 0 &&
		    r->dest[i].active > 0)
			r->dest[i].active--;
	r->active--;
	pthread_cond_broadcast(&r->idle);
	pthread_mutex_unlock(&r->lock);
}

static void *
deliver_main(void *arg)
{
	struct deliver_job *j = arg;
	struct relay *r = j->r;
	char *error = NULL;

	if (store_open(r->cfg->data_dir, &j->st, &error) != 0) {
		log_error("relay: %s", error);
		free(error);
	}
	while (j->st != NULL && !relay_stopping(r, false)) {
		struct store_queue_msg m;
		int ret = store_queue_claim(j->st, j->domain[0] != '\0' ?
		    j->domain : NULL, (int64_t)time(NULL), r->pid, &m);

		if (ret != 0) {
			if (ret != STORE_ERR_NOT_FOUND)
				log_warn("relay: claiming mail for %s: %s",
				    j->domain, store_strerror(ret));
			break;
		}
		/* More may be due here: the scheduler may add a thread. */
		relay_wake(r);
		deliver_msg(j, &m);
		store_queue_msg_clear(&m);
	}
	if (j->client != NULL)
		smtp_client_close(&j->client);
	store_close(&j->st);
	/* Wake first: once dest_release() counts us out, relay_run() may
	 * return and r be freed. */
	relay_wake(r);
	dest_release(r, j->domain);
	free(j);
	return NULL;
}

bool
relay_deliver_start(struct relay *r, const char *domain)
{
	struct deliver_job *j = xcalloc(1, sizeof(*j));
	pthread_attr_t attr;
	pthread_t t;
	int err;

	j->r = r;
	snprintf(j->domain, sizeof(j->domain), "%s", domain);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* libunbound and OpenSSL want more than a session's 256 KiB. */
	pthread_attr_setstacksize(&attr, 1024 * 1024);
	err = pthread_create(&t, &attr, deliver_main, j);
	pthread_attr_destroy(&attr);
	if (err == 0)
		return true;
	log_error("relay: thread for %s: %s", domain, strerror(err));
	free(j);
	dest_release(r, domain);
	return false;
}
