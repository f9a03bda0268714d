#!/usr/bin/env python3
"""Hostile files in the PLO file spool of a running gateway (tests/system/outside_probe_round2.sh starts it with
`adapters.plo.max_message_bytes: 4194304`).

A message agent drops each file under a dot-name and renames it into `in` (as real agents do). Every regular file
must be answered: an AppRec in `out` named after it, and for a rejected message the file itself moved to `error`.
What is not a regular file (a FIFO, a directory, a symlink) must never be opened or followed, and must not stop the
spool. At the end a good message dropped after all the others must still be answered: nothing jams the spool.

Usage: probe_spool.py SPOOL_DIR OUTSIDE_DIR PLO_DATA_DIR
"""
import os
import re
import sys
import time
import uuid

SPOOL, OUTSIDE, DATA = sys.argv[1], sys.argv[2], sys.argv[3]
IN, OUT, ERR = (os.path.join(SPOOL, d) for d in ("in", "out", "error"))
GUARD = 90  # seconds: a hang guard far above the 1 s poll interval of a loaded sanitizer build
FAILURES = []
SAMPLE = open(os.path.join(DATA, "Sammenfatning_v2-0_IndividuellPlan_Ny.xml"), "rb").read()


def fail(msg):
    FAILURES.append(msg)
    print(f"FAIL spool: {msg}", flush=True)


def message(body=None):
    """The sample message with a fresh MsgId, optionally with its business document replaced."""
    m = re.sub(rb"<MsgId>[^<]*</MsgId>", b"<MsgId>" + str(uuid.uuid4()).encode() + b"</MsgId>", SAMPLE)
    return m if body is None else body(m)


def drop(name, data):
    tmp = os.path.join(IN, "." + uuid.uuid4().hex)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(IN, name))


def with_signature(m):
    # xmldsig wrapping: a Signature whose Reference points at an element id the signed part does not hold, and a
    # second, forged Document beside the real one.
    sig = (b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
           b'<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
           b'<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
           b'<ds:Reference URI="#evil"><ds:Transforms><ds:Transform Algorithm='
           b'"http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms>'
           b'<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue>'
           b'</ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue>'
           b'<ds:KeyInfo><ds:X509Data><ds:X509Certificate>' + b"QUFB" * 1000 + b'</ds:X509Certificate></ds:X509Data>'
           b'</ds:KeyInfo><ds:Object><MsgHead Id="evil"/></ds:Object></ds:Signature>')
    return m.replace(b"</MsgHead>", sig + b"</MsgHead>")


def with_attachment(size):
    def body(m):
        att = (b'<RefDoc><IssueDate V="2018-01-31T11:23:22"/><MsgType V="A" DN="Vedlegg"/><MimeType>application/pdf'
               b'</MimeType><Content><Base64Container xmlns="http://www.kith.no/xmlstds/base64container">' +
               b"QUJD" * (size // 4) + b"</Base64Container></Content></RefDoc>")
        return m.replace(b"</Document>", b"</Document><Document>" + att + b"</Document>", 1)
    return body


def main():
    files = {
        "01-good.xml": message(),
        "02-wrapped-signature.xml": message(with_signature),
        "03-attachment-3mb.xml": message(with_attachment(3 * 1024 * 1024)),
        "04-over-limit.xml": message(with_attachment(5 * 1024 * 1024)),
        "05-utf16-declared-utf8-bytes.xml": message().replace(b'encoding="UTF-8"', b'encoding="UTF-16"'),
        "06-latin1.xml": message().replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').decode("utf-8").encode("latin-1"),
        "07-unknown-encoding.xml": message().replace(b'encoding="UTF-8"', b'encoding="x-nope"'),
        "08-bom-utf16-declared.xml": b"\xef\xbb\xbf" + message().replace(b'encoding="UTF-8"', b'encoding="UTF-16"'),
        "09-utf16.xml": message().replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode("utf-8").encode("utf-16"),
        "10-empty.xml": b"",
        "11-nul-bytes.xml": b"\0" * 1000,
        "12-entity-in-content.xml": message().replace(b"<MsgHead", b'<!DOCTYPE MsgHead [<!ENTITY x SYSTEM "file:///etc/passwd">]><MsgHead', 1)
                                    .replace(b"<FamilyName>Gundersen", b"<FamilyName>&x;Gundersen"),
        "13-two-roots.xml": message() + message(),
        "14-name-" + "n" * 230 + ".xml": message(),  # the AppRec's own name would pass NAME_MAX (255)
        "15-" + "\u00e6\u00f8\u00e5" + " name with spaces; and 'quotes'.xml": message(),
    }
    for name, data in files.items():
        drop(name, data)
    # Not regular files: a FIFO, a directory, and a symlink to a file outside the spool.
    os.mkfifo(os.path.join(IN, "20-fifo.xml"))
    os.mkdir(os.path.join(IN, "21-directory.xml"))
    secret = os.path.join(OUTSIDE, "outside.xml")
    with open(secret, "wb") as f:
        f.write(message())
    os.symlink(secret, os.path.join(IN, "22-symlink.xml"))

    def answered(name):
        return os.path.exists(os.path.join(OUT, name + ".apprec.xml")) or any(
            len(name) > 200 and f.startswith(name[:150]) and f.endswith(".apprec.xml") for f in os.listdir(OUT))

    deadline = time.monotonic() + GUARD
    pending = set(files)
    while pending and time.monotonic() < deadline:
        pending = {n for n in pending if not answered(n)}
        time.sleep(0.2)
    for n in sorted(pending):
        fail(f"no AppRec for {n[:60]!r} within {GUARD} s (in: {sorted(os.listdir(IN))[:5]})")
    # The last good file: the spool must still work after everything above.
    drop("99-good-after.xml", message())
    deadline = time.monotonic() + GUARD
    while not answered("99-good-after.xml") and time.monotonic() < deadline:
        time.sleep(0.2)
    if not answered("99-good-after.xml"):
        fail("a good message dropped after the hostile ones was not answered: the spool is jammed")
    # What is not a regular file is left where it was (never opened, followed or moved away as a message).
    for n in ("20-fifo.xml", "21-directory.xml", "22-symlink.xml"):
        if answered(n):
            fail(f"{n} was answered as a message (it is not a regular file of the spool)")
    if not os.path.exists(secret):
        fail("the file a symlink in the spool pointed to was moved or removed")
    for f in os.listdir(OUT):
        if f.endswith(".apprec.xml"):
            text = open(os.path.join(OUT, f), "rb").read()
            if b"root:x:" in text:
                fail(f"{f}: an AppRec quotes a local file (XXE)")
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("all spool probes held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
