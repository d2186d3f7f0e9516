//! The first look at a `SAMLResponse`: refuse what is never read (too large,
//! not base64 or UTF-8, any DTD), then parse without DTD support and read
//! what routing needs. Nothing read here is trusted.

use crate::{ASSERTION_NS, MAX_SAML_RESPONSE_BASE64, PROTOCOL_NS};
use admit_app::{SamlError, UnverifiedResponse};
use base64::Engine as _;

/// Elements and attributes one parse may build: a bound on work per request.
const MAX_NODES: u32 = 10_000;

fn malformed(why: impl Into<String>) -> SamlError {
    SamlError::Malformed(why.into())
}

/// Parse XML that has passed [`decode`]: no DTD (roxmltree refuses one
/// anyway), a bounded number of nodes.
pub(crate) fn parse(xml: &str) -> Result<roxmltree::Document<'_>, SamlError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(xml, options)
        .map_err(|e| malformed(format!("not well-formed XML: {e}")))
}

/// Base64 to XML text, refusing a DTD before any parser sees the text.
pub(crate) fn decode(saml_response: &str) -> Result<String, SamlError> {
    if saml_response.len() > MAX_SAML_RESPONSE_BASE64 {
        return Err(malformed("too large"));
    }
    let compact: String = saml_response
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| malformed("not base64"))?;
    let xml = String::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
    // Both parsers must read the same characters: roxmltree reads UTF-8
    // whatever the declaration says, libxml2 obeys it (UTF-7 would hide
    // markup from every check here).
    if !declares_utf8_or_nothing(&xml) {
        return Err(malformed("only UTF-8 is accepted"));
    }
    if xml.contains('\0') {
        return Err(malformed("a NUL character"));
    }
    // A DOCTYPE is where external entities and entity expansion live; SAML never needs one.
    let lower = xml.to_ascii_lowercase();
    if lower.contains("<!doctype") || lower.contains("<!entity") {
        return Err(malformed(
            "a document type declaration (DTD) is not accepted",
        ));
    }
    Ok(xml)
}

/// The XML declaration, if any, names no encoding or UTF-8.
fn declares_utf8_or_nothing(xml: &str) -> bool {
    let text = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let Some(declaration) = text.strip_prefix("<?xml") else {
        return true;
    };
    let Some((declaration, _)) = declaration.split_once("?>") else {
        return false;
    };
    match declaration.split_once("encoding") {
        None => true,
        Some((_, rest)) => {
            let value: String = rest
                .trim_start()
                .trim_start_matches('=')
                .trim_start()
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| !matches!(c, '"' | '\''))
                .collect();
            value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
        }
    }
}

pub(crate) fn read_response(saml_response: &str) -> Result<UnverifiedResponse, SamlError> {
    let xml = decode(saml_response)?;
    let (in_response_to, audiences) = {
        let doc = parse(&xml)?;
        let root = doc.root_element();
        if !root.has_tag_name((PROTOCOL_NS, "Response")) {
            return Err(malformed("not a samlp:Response"));
        }
        let audiences = root
            .descendants()
            .filter(|n| n.has_tag_name((ASSERTION_NS, "Audience")))
            .map(|n| text_of(n).trim().to_owned())
            .collect();
        (root.attribute("InResponseTo").map(str::to_owned), audiences)
    };
    Ok(UnverifiedResponse {
        xml,
        in_response_to,
        audiences,
    })
}

/// The whole text of an element: every text node under it, in order, so
/// `a@corp.test<!---->.evil.test` reads `a@corp.test.evil.test`, never
/// the part before the comment.
pub(crate) fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(roxmltree::Node::is_text)
        .filter_map(|t| t.text())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    const RESPONSE: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" InResponseTo="_req"><saml:Assertion ID="_a"><saml:Conditions><saml:AudienceRestriction><saml:Audience> https://sp.test/x </saml:Audience></saml:AudienceRestriction></saml:Conditions></saml:Assertion></samlp:Response>"#;

    #[test]
    fn reads_what_routing_needs() {
        let r = read_response(&b64(RESPONSE)).unwrap();
        assert_eq!(r.in_response_to.as_deref(), Some("_req"));
        assert_eq!(r.audiences, vec!["https://sp.test/x"]);
        // Line-wrapped base64 (some IdPs send it) reads the same.
        let wrapped: String = b64(RESPONSE)
            .as_bytes()
            .chunks(76)
            .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
            .collect();
        assert!(read_response(&wrapped).is_ok());
    }

    #[test]
    fn refuses_dtds_before_parsing() {
        for dtd in [
            r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>"#,
            "<!doctype r>",
            r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;">]>"#,
        ] {
            let err = read_response(&b64(&format!("{dtd}{RESPONSE}"))).unwrap_err();
            assert!(
                matches!(err, SamlError::Malformed(ref w) if w.contains("DTD")),
                "{err}"
            );
        }
    }

    #[test]
    fn refuses_any_encoding_but_utf8() {
        let utf7 = r#"<?xml version="1.0" encoding="UTF-7"?>"#;
        let err = read_response(&b64(&format!("{utf7}{RESPONSE}"))).unwrap_err();
        assert!(
            matches!(err, SamlError::Malformed(ref w) if w.contains("UTF-8")),
            "{err}"
        );
        for fine in [
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<?xml version='1.0' encoding = 'utf-8'?>"#,
            r#"<?xml version="1.0"?>"#,
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        ] {
            assert!(
                read_response(&b64(&format!("{fine}{RESPONSE}"))).is_ok(),
                "{fine}"
            );
        }
        for bad in [
            r#"<?xml version="1.0" encoding="ISO-8859-1"?>"#,
            r#"<?xml version="1.0" encoding="UTF-16"?>"#,
        ] {
            assert!(
                read_response(&b64(&format!("{bad}{RESPONSE}"))).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_response() {
        for bad in [
            "not base64!".to_owned(),
            b64("<a/>"),
            b64("<samlp:Response xmlns:samlp='x'/>"),
            b64("<unclosed>"),
            "A".repeat(MAX_SAML_RESPONSE_BASE64 + 4),
        ] {
            assert!(
                matches!(read_response(&bad), Err(SamlError::Malformed(_))),
                "{bad:.40}"
            );
        }
    }

    #[test]
    fn text_is_read_whole_across_comments() {
        let doc = roxmltree::Document::parse("<n>victim@corp.test<!---->.evil.test</n>").unwrap();
        assert_eq!(text_of(doc.root_element()), "victim@corp.test.evil.test");
    }
}
