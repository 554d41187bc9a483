// An imapflow session against letterboxd, for test_imap_imapflow.py.
//
// Input (environment): IMAPFLOW_MODULES, the folder npm installed
// imapflow into (its node_modules is below it); IMAP_HOST, IMAP_PORT
// (implicit TLS), IMAP_USER, IMAP_PASS; IMAP_QRESYNC=1 to have
// imapflow ENABLE QRESYNC (RFC 7162) as well as CONDSTORE.
//
// Output: JSON lines on stdout. {"event": "idling"} once the server
// acknowledged IDLE: the Python test then changes flags from another
// session, delivers a message over SMTP and expunges one, and the
// script waits to be told all three. Last {"result": {...}} with what
// every step saw, or the error of the step that failed. "log" holds
// the protocol lines both ways (client lines "C: ", server lines
// "S: ") for failure messages.
//
// Every step is bounded: the whole run gives up after 60 seconds.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.IMAPFLOW_MODULES,
    'package.json'));
const { ImapFlow } = require('imapflow');

const log = [];
const result = { steps: [] };

function note(entry) {
    if (entry && (entry.src === 's' || entry.src === 'c') && entry.msg) {
        let line = (entry.src === 's' ? 'S: ' : 'C: ') + entry.msg;
        if (line.length > 600)
            line = line.slice(0, 600) + '...';
        log.push(line);
    }
}
const logger = {
    debug: note, info: note, warn: note, error: note, trace: note,
    fatal: note,
};

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

function finish(code) {
    result.log = log.slice(-400);
    emit({ result });
    process.exit(code);
}

setTimeout(() => {
    result.error = 'timed out after 60 s in step ' +
        result.steps[result.steps.length - 1];
    finish(2);
}, 60000).unref();

// Runs one step; records its error (with the server's answer) and
// rethrows, so the steps after it do not run on a broken session.
async function step(name, fn) {
    result.steps.push(name);
    try {
        return await fn();
    } catch (err) {
        result.error = name + ': ' + String(err && err.message || err);
        result.errorDetail = {
            responseText: err && err.responseText,
            responseStatus: err && err.responseStatus,
            serverResponseCode: err && err.serverResponseCode,
            code: err && err.code,
        };
        throw err;
    }
}

function flagList(flags) {
    return flags ? [...flags].sort() : null;
}

function envelopeJson(env) {
    if (!env)
        return null;
    const addrs = (list) => (list || []).map((a) => ({
        name: a.name || '', address: a.address || '' }));
    return {
        date: env.date ? new Date(env.date).toISOString() : null,
        subject: env.subject || '',
        from: addrs(env.from), sender: addrs(env.sender),
        replyTo: addrs(env.replyTo), to: addrs(env.to), cc: addrs(env.cc),
        bcc: addrs(env.bcc), inReplyTo: env.inReplyTo || null,
        messageId: env.messageId || null,
    };
}

function messageJson(msg) {
    return {
        seq: msg.seq, uid: msg.uid, flags: flagList(msg.flags),
        size: msg.size,
        internalDate: msg.internalDate ?
            new Date(msg.internalDate).toISOString() : null,
        envelope: envelopeJson(msg.envelope),
        bodyStructureType: msg.bodyStructure ? msg.bodyStructure.type : null,
        bodyStructureParts: msg.bodyStructure &&
            msg.bodyStructure.childNodes ?
            msg.bodyStructure.childNodes.map((n) => n.type) : null,
        source: msg.source ? msg.source.toString('base64') : null,
    };
}

const client = new ImapFlow({
    host: process.env.IMAP_HOST,
    port: Number(process.env.IMAP_PORT),
    secure: true,
    tls: { rejectUnauthorized: false },
    auth: { user: process.env.IMAP_USER, pass: process.env.IMAP_PASS },
    logger,
    disableAutoIdle: true,
    qresync: process.env.IMAP_QRESYNC === '1',
    connectionTimeout: 15000,
    greetingTimeout: 15000,
    socketTimeout: 30000,
});
client.on('error', (err) => {
    result.error = result.error || 'connection error: ' + String(err);
});

const seen = { exists: [], expunge: [], flags: [] };
client.on('exists', (d) => seen.exists.push({ path: d.path,
    count: d.count, prevCount: d.prevCount }));
client.on('expunge', (d) => seen.expunge.push({ path: d.path,
    seq: d.seq, uid: d.uid || null }));
client.on('flags', (d) => seen.flags.push({ path: d.path, seq: d.seq,
    uid: d.uid || null, flags: flagList(d.flags) }));
result.events = seen;

async function main() {
    await step('connect', () => client.connect());
    result.capabilities = [...client.capabilities.keys()].sort();
    result.enabled = [...(client.enabled || [])].sort();

    result.list = await step('list', async () => {
        const boxes = await client.list({
            statusQuery: { messages: true, unseen: true, uidNext: true },
        });
        return boxes.map((b) => ({
            path: b.path, delimiter: b.delimiter,
            flags: flagList(b.flags), specialUse: b.specialUse || null,
            status: b.status ? {
                messages: b.status.messages, unseen: b.status.unseen,
                uidNext: b.status.uidNext } : null,
        }));
    });

    result.open = await step('mailboxOpen', async () => {
        const mb = await client.mailboxOpen('INBOX');
        return {
            path: mb.path, exists: mb.exists, uidValidity:
                String(mb.uidValidity), uidNext: mb.uidNext,
            readOnly: mb.readOnly, flags: flagList(mb.flags),
            permanentFlags: flagList(mb.permanentFlags),
        };
    });

    result.fetched = await step('fetch', async () => {
        const out = [];
        for await (const msg of client.fetch('1:*', {
            uid: true, flags: true, envelope: true, source: true,
            internalDate: true, size: true, bodyStructure: true,
        }))
            out.push(messageJson(msg));
        return out;
    });
    const uids = result.fetched.map((m) => m.uid);

    result.flagged = await step('messageFlagsAdd', async () => {
        const ok = await client.messageFlagsAdd(String(uids[0]),
            ['\\Flagged', '$Important'], { uid: true });
        const msg = await client.fetchOne(String(uids[0]),
            { uid: true, flags: true }, { uid: true });
        return { ok, uid: msg.uid, flags: flagList(msg.flags) };
    });

    result.moved = await step('messageMove', async () => {
        const res = await client.messageMove(String(uids[1]), 'Archive',
            { uid: true });
        return {
            path: res.path, destination: res.destination,
            uidValidity: res.uidValidity ? String(res.uidValidity) : null,
            uidMap: res.uidMap ? [...res.uidMap.entries()] : null,
        };
    });
    result.afterMove = await step('status', async () => {
        const st = await client.status('Archive',
            { messages: true, uidNext: true });
        const left = [];
        for await (const msg of client.fetch('1:*', { uid: true }))
            left.push(msg.uid);
        return { archive: { messages: st.messages, uidNext: st.uidNext },
            inboxUids: left, inboxExists: client.mailbox.exists };
    });

    result.appended = await step('append', async () => {
        const res = await client.append('Drafts',
            'From: Me <me@example.org>\r\nSubject: draft by imapflow\r\n' +
            '\r\nNot sent yet.\r\n', ['\\Draft', '\\Seen'],
            new Date('2024-01-02T03:04:05Z'));
        return { destination: res.destination, uid: res.uid,
            uidValidity: res.uidValidity ? String(res.uidValidity) : null };
    });

    result.mailboxes = await step('mailboxes', async () => {
        const made = await client.mailboxCreate(['Projekte', 'Über']);
        const renamed = await client.mailboxRename('Projekte/Über',
            'Projekte/Neu');
        const listed = (await client.list()).map((b) => b.path).sort();
        const deleted = await client.mailboxDelete('Projekte/Neu');
        const after = (await client.list()).map((b) => b.path).sort();
        return { made: { path: made.path, created: made.created },
            renamed: { path: renamed.path, newPath: renamed.newPath },
            listed, deleted: deleted.path, after };
    });

    result.idle = await step('idle', async () => {
        const before = client.mailbox.exists;
        // Wait for the three changes the test makes while we idle:
        // a flag set elsewhere, a new message, an expunge.
        const arrived = new Promise((resolve) => {
            let flagged = false, grew = null, gone = false;
            const check = () => {
                if (flagged && grew && gone)
                    resolve(grew);
            };
            client.on('exists', (d) => {
                if (d.count > before) {
                    grew = d;
                    check();
                }
            });
            client.on('flags', (d) => {
                if (d.flags && d.flags.has('\\Seen')) {
                    flagged = true;
                    check();
                }
            });
            client.on('expunge', () => {
                gone = true;
                check();
            });
        });
        let announced = false;
        const mark = log.length;
        const watch = setInterval(() => {
            if (!announced && client.idling &&
                log.slice(mark).some((l) => l.startsWith('S: +'))) {
                // The server said "+ idling": IDLE is on.
                announced = true;
                emit({ event: 'idling' });
            }
        }, 20);
        const idling = client.idle();
        const got = await Promise.race([arrived, new Promise((_, rej) =>
            setTimeout(() => rej(new Error('not told of FETCH FLAGS, ' +
                'EXISTS and EXPUNGE within 30 s of IDLE')), 30000))]);
        clearInterval(watch);
        const out = { before, count: got.count, announced };
        // Fetching ends the IDLE (DONE) first.
        const msg = await client.fetchOne('*', {
            uid: true, envelope: true, flags: true, source: true });
        out.existsAfter = client.mailbox.exists;
        out.message = messageJson(msg);
        await idling;
        return out;
    });

    await step('logout', () => client.logout());
}

main().then(() => finish(0), () => {
    try {
        client.close();
    } catch (e) {
        // closing a broken connection is best effort
    }
    finish(1);
});
