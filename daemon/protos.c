/*
 * protos.c - the table of protocol families. POP3 and IMAP join it when
 * they exist; until then their listen keys are reported and ignored.
 */
#include "daemon/protos.h"
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

const struct proto *const daemon_protos[] = { &smtp_proto };
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
