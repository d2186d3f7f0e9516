//! The shape a response must have before any signature is checked, and the
//! response-level fields that can only refuse.
//!
//! XML signature wrapping (XSW) works by making the element that is signed
//! differ from the element that is read: a second Response or Assertion
//! beside, around or inside the signed one (in `Extensions`, in a
//! `Signature`'s `Object`…), or a signature whose Reference points elsewhere.
//! A response here has exactly one Response (the root) and exactly one
//! Assertion (its child), and every signature is enveloped in the element its
//! one Reference names, so no wrapping layout passes, whatever the verifier
//! later does.

use crate::read::{parse, text_of};
use crate::{ASSERTION_NS, DSIG_NS, PROTOCOL_NS, STATUS_SUCCESS, rejected};
use admit_app::{SamlError, ServiceProvider};
use admit_domain::SamlConfig;
use roxmltree::Node;
use std::collections::HashSet;

const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const ECDSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
const ECDSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512";
const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
const SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";

pub(crate) fn check(
    xml: &str,
    config: &SamlConfig,
    sp: &ServiceProvider,
    request_id: Option<&str>,
) -> Result<(), SamlError> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    if !root.has_tag_name((PROTOCOL_NS, "Response")) {
        return Err(rejected("not a samlp:Response"));
    }
    single_response_and_assertion(root)?;
    unique_ids(root)?;
    let signatures = enveloped_signatures(root)?;
    for signature in &signatures {
        plain_signature(*signature)?;
        check_algorithms(*signature, config.allow_sha1)?;
    }
    response_fields(root, config, sp, request_id)
}

fn elements<'a, 'i>(
    root: Node<'a, 'i>,
    ns: &'static str,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    root.descendants()
        .filter(move |n| n.has_tag_name((ns, name)))
}

fn single_response_and_assertion(root: Node<'_, '_>) -> Result<(), SamlError> {
    if elements(root, PROTOCOL_NS, "Response").count() != 1 {
        return Err(rejected("more than one Response element"));
    }
    if elements(root, ASSERTION_NS, "EncryptedAssertion")
        .next()
        .is_some()
    {
        return Err(rejected("encrypted assertions are not supported"));
    }
    let assertions: Vec<_> = elements(root, ASSERTION_NS, "Assertion").collect();
    match assertions.as_slice() {
        [a] if a.parent_element() == Some(root) => Ok(()),
        [] => Err(rejected("no Assertion")),
        [_] => Err(rejected("the Assertion is not a child of the Response")),
        _ => Err(rejected("more than one Assertion element")),
    }
}

fn unique_ids(root: Node<'_, '_>) -> Result<(), SamlError> {
    let mut seen = HashSet::new();
    for node in root.descendants().filter(Node::is_element) {
        for attr in node.attributes() {
            if matches!(attr.name(), "ID" | "Id" | "id") && !seen.insert(attr.value()) {
                return Err(rejected("an ID is used twice"));
            }
        }
    }
    Ok(())
}

/// Every `ds:Signature` sits in the Response or the Assertion and signs
/// exactly that element; at least one exists.
fn enveloped_signatures<'a, 'i>(root: Node<'a, 'i>) -> Result<Vec<Node<'a, 'i>>, SamlError> {
    let signatures: Vec<_> = elements(root, DSIG_NS, "Signature").collect();
    if signatures.is_empty() {
        return Err(rejected("neither the response nor the assertion is signed"));
    }
    for signature in &signatures {
        let parent = signature
            .parent_element()
            .filter(|p| {
                *p == root
                    || p.has_tag_name((ASSERTION_NS, "Assertion"))
                        && p.parent_element() == Some(root)
            })
            .ok_or_else(|| rejected("a signature outside the Response and the Assertion"))?;
        let references: Vec<_> = signature
            .children()
            .filter(|n| n.has_tag_name((DSIG_NS, "SignedInfo")))
            .flat_map(|si| {
                si.children()
                    .filter(|n| n.has_tag_name((DSIG_NS, "Reference")))
            })
            .collect();
        let [reference] = references.as_slice() else {
            return Err(rejected("a signature must have exactly one Reference"));
        };
        let id = parent.attribute("ID").unwrap_or_default();
        if id.is_empty() || reference.attribute("URI") != Some(&format!("#{id}")) {
            return Err(rejected(
                "a signature does not sign the element that contains it",
            ));
        }
    }
    Ok(signatures)
}

/// A signature of the shape IdPs send and nothing more: no `Object`, no
/// `Manifest`, no `RetrievalMethod`, and only the enveloped-signature and
/// canonicalization transforms (at most two). xmlsec runs a Reference's
/// transforms before it checks the signature value, so an XPath or XSLT
/// transform would be attacker-chosen work (and a URI an attacker-chosen
/// fetch) on an unsigned request.
fn plain_signature(signature: Node<'_, '_>) -> Result<(), SamlError> {
    let odd = |what: &str| rejected(format!("a signature with {what} is not accepted"));
    let dsig = |n: &Node<'_, '_>, names: &[&str]| {
        n.tag_name().namespace() == Some(DSIG_NS) && names.contains(&n.tag_name().name())
    };
    let exc_c14n_only = |n: Node<'_, '_>| {
        n.children()
            .filter(Node::is_element)
            .all(|c| c.has_tag_name((EXC_C14N, "InclusiveNamespaces")))
    };
    for child in signature.children().filter(Node::is_element) {
        if !dsig(&child, &["SignedInfo", "SignatureValue", "KeyInfo"]) {
            return Err(odd(child.tag_name().name()));
        }
        if dsig(&child, &["KeyInfo"])
            && !child
                .children()
                .filter(Node::is_element)
                .all(|k| dsig(&k, &["X509Data", "KeyName", "KeyValue"]))
        {
            return Err(odd("KeyInfo beyond X509Data, KeyName and KeyValue"));
        }
    }
    let signed_info = signature
        .children()
        .find(|n| n.has_tag_name((DSIG_NS, "SignedInfo")))
        .ok_or_else(|| odd("no SignedInfo"))?;
    for part in signed_info.children().filter(Node::is_element) {
        match part.tag_name().name() {
            "CanonicalizationMethod" if dsig(&part, &["CanonicalizationMethod"]) => {
                if !matches!(part.attribute("Algorithm"), Some(EXC_C14N | C14N))
                    || !exc_c14n_only(part)
                {
                    return Err(odd("this canonicalization"));
                }
            }
            "SignatureMethod" if dsig(&part, &["SignatureMethod"]) => {}
            "Reference" if dsig(&part, &["Reference"]) => {
                for r in part.children().filter(Node::is_element) {
                    if !dsig(&r, &["Transforms", "DigestMethod", "DigestValue"]) {
                        return Err(odd(r.tag_name().name()));
                    }
                    if r.tag_name().name() != "Transforms" {
                        continue;
                    }
                    let transforms: Vec<_> = r.children().filter(Node::is_element).collect();
                    let plain = |t: &Node<'_, '_>| {
                        dsig(t, &["Transform"])
                            && matches!(t.attribute("Algorithm"), Some(ENVELOPED | EXC_C14N | C14N))
                            && exc_c14n_only(*t)
                    };
                    if transforms.len() > 2 || !transforms.iter().all(plain) {
                        return Err(odd("transforms other than enveloped-signature and c14n"));
                    }
                }
            }
            other => return Err(odd(other)),
        }
    }
    Ok(())
}

/// RSA or ECDSA with SHA-256 or stronger; RSA-SHA1 and SHA-1 digests only
/// when the organization allows them. No HMAC, no DSA, nothing unknown.
fn check_algorithms(signature: Node<'_, '_>, allow_sha1: bool) -> Result<(), SamlError> {
    let mut methods = Vec::new();
    let mut digests = Vec::new();
    for n in signature.descendants() {
        if n.has_tag_name((DSIG_NS, "SignatureMethod")) {
            methods.push(n.attribute("Algorithm").unwrap_or_default());
        } else if n.has_tag_name((DSIG_NS, "DigestMethod")) {
            digests.push(n.attribute("Algorithm").unwrap_or_default());
        }
    }
    let method_ok = |m: &str| {
        matches!(
            m,
            RSA_SHA256 | RSA_SHA384 | RSA_SHA512 | ECDSA_SHA256 | ECDSA_SHA384 | ECDSA_SHA512
        ) || (allow_sha1 && m == RSA_SHA1)
    };
    let digest_ok = |d: &str| matches!(d, SHA256 | SHA384 | SHA512) || (allow_sha1 && d == SHA1);
    match (methods.as_slice(), digests.is_empty()) {
        ([m], false) if method_ok(m) && digests.iter().all(|d| digest_ok(d)) => Ok(()),
        ([m], _) if !method_ok(m) => Err(rejected(format!(
            "signature algorithm {m:?} is not accepted"
        ))),
        _ => Err(rejected("digest algorithm not accepted")),
    }
}

/// Fields of the (possibly unsigned) Response: they can only refuse.
fn response_fields(
    root: Node<'_, '_>,
    config: &SamlConfig,
    sp: &ServiceProvider,
    request_id: Option<&str>,
) -> Result<(), SamlError> {
    let status = root
        .children()
        .find(|n| n.has_tag_name((PROTOCOL_NS, "Status")))
        .and_then(|s| {
            s.children()
                .find(|n| n.has_tag_name((PROTOCOL_NS, "StatusCode")))
        })
        .and_then(|c| c.attribute("Value"));
    if status != Some(STATUS_SUCCESS) {
        return Err(rejected(format!(
            "status is {:?}, not Success",
            status.unwrap_or("missing")
        )));
    }
    if let Some(destination) = root.attribute("Destination")
        && destination != sp.acs_url
    {
        return Err(rejected("Destination is not this ACS"));
    }
    if let Some(issuer) = root
        .children()
        .find(|n| n.has_tag_name((ASSERTION_NS, "Issuer")))
        && text_of(issuer).trim() != config.idp_entity_id
    {
        return Err(rejected("the response's Issuer is not the configured IdP"));
    }
    match (root.attribute("InResponseTo"), request_id) {
        (Some(got), Some(want)) if got == want => Ok(()),
        (None, None) => Ok(()),
        (Some(_), _) => Err(rejected("InResponseTo does not match the request")),
        (None, Some(_)) => Err(rejected("InResponseTo is missing")),
    }
}
