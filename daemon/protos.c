/*
 * protos.c - the table of protocol families.
 */
#include "daemon/protos.h"
#include "imapd/imap.h"
#include "pop3d/pop3.h"
#include "smtpd/relay.h"
#include "smtpd/smtp.h"

static const struct proto smtp_proto = {
	.name = "smtp",
	.services = { CONFIG_SVC_SMTP, CONFIG_SVC_SUBMISSION,
	    CONFIG_SVC_SUBMISSIONS },
	.nservices = 3,
	.server_new = smtp_server_new,
	.server_free = smtp_server_free,
	.session = smtp_session_run,
	/* RFC 5321 3.8: 421 may be sent at once to refuse service. */
	.busy_reply = "421 4.7.0 Too many connections, try again later\r\n",
};

static const struct proto pop3_proto = {
	.name = "pop3",
	.services = { CONFIG_SVC_POP3, CONFIG_SVC_POP3S },
	.nservices = 2,
	.server_new = pop3_server_new,
	.server_free = pop3_server_free,
	.session = pop3_session_run,
	/* RFC 2449 8.1.2 / RFC 3206: a temporary condition. */
	.busy_reply = "-ERR [SYS/TEMP] Too many connections, try again "
	    "later\r\n",
};

static const struct proto imap_proto = {
	.name = "imap",
	.services = { CONFIG_SVC_IMAP, CONFIG_SVC_IMAPS },
	.nservices = 2,
	.server_new = imap_server_new,
	.server_free = imap_server_free,
	.session = imap_session_run,
	/* RFC 3501 7.1.5: BYE at once when the server refuses service. */
	.busy_reply = "* BYE [UNAVAILABLE] Too many connections, try again "
	    "later\r\n",
};

/* The delivery agent: no listeners, one background thread of its own. */
static const struct proto relay_proto = {
	.name = "relay",
	.nservices = 0,
	.server_new = relay_server_new,
	.server_free = relay_server_free,
	.wanted = relay_wanted,
	.background = relay_run,
};

const struct proto *const daemon_protos[] = { &smtp_proto, &pop3_proto,
	&imap_proto, &relay_proto };
const size_t daemon_nprotos = sizeof(daemon_protos) /
    sizeof(daemon_protos[0]);

const struct proto *
daemon_proto_of(enum config_service svc)
{
	for (size_t i = 0; i < daemon_nprotos; i++)
		for (size_t k = 0; k < daemon_protos[i]->nservices; k++)
			if (daemon_protos[i]->services[k] == svc)
				return daemon_protos[i];
	return NULL;
}
