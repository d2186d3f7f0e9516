//! Reading the assertion out of what the signatures cover, with Admit's own
//! checks and clock.

use crate::read::{parse, text_of};
use crate::{ASSERTION_NS, BEARER, CLOCK_SKEW, MAX_RESPONSE_AGE, PROTOCOL_NS, rejected};
use admit_app::{SamlError, ServiceProvider, VerifiedAssertion};
use admit_domain::{Email, ExternalId, IdpIdentity, SamlConfig, Timestamp};
use roxmltree::Node;

const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const UNSPECIFIED_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
const TRANSIENT_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const MAX_NAME: usize = 128;

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.has_tag_name((ASSERTION_NS, name)))
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |n| n.has_tag_name((ASSERTION_NS, name)))
}

fn instant(node: Node<'_, '_>, attribute: &str) -> Result<Option<Timestamp>, SamlError> {
    node.attribute(attribute)
        .map(|v| {
            Timestamp::parse(v.trim()).map_err(|_| rejected(format!("{attribute} is not a time")))
        })
        .transpose()
}

/// `signed` is samael's reduction: the signed Response, or the signed Assertion alone.
pub(crate) fn read_verified(
    signed: &str,
    config: &SamlConfig,
    sp: &ServiceProvider,
    request_id: Option<&str>,
    now: Timestamp,
) -> Result<VerifiedAssertion, SamlError> {
    let doc = parse(signed)?;
    let root = doc.root_element();
    let assertion = if root.has_tag_name((ASSERTION_NS, "Assertion")) {
        root
    } else if root.has_tag_name((PROTOCOL_NS, "Response")) {
        let mut all = children(root, "Assertion");
        match (all.next(), all.next()) {
            (Some(a), None) => a,
            _ => return Err(rejected("the signed response has no single Assertion")),
        }
    } else {
        return Err(rejected("nothing signed is an Assertion"));
    };
    let assertion_id = assertion
        .attribute("ID")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| rejected("the Assertion has no ID"))?;

    let issuer = child(assertion, "Issuer").map(|i| text_of(i).trim().to_owned());
    if issuer.as_deref() != Some(config.idp_entity_id.as_str()) {
        return Err(rejected("the Assertion's Issuer is not the configured IdP"));
    }
    let issued = instant(assertion, "IssueInstant")?
        .ok_or_else(|| rejected("the Assertion has no IssueInstant"))?;
    if issued > now + CLOCK_SKEW || issued + MAX_RESPONSE_AGE + CLOCK_SKEW <= now {
        return Err(rejected("the Assertion was not issued just now"));
    }
    let mut valid_until = issued + MAX_RESPONSE_AGE;

    // Conditions: a window that includes now, and every AudienceRestriction names us.
    let conditions = child(assertion, "Conditions")
        .ok_or_else(|| rejected("the Assertion has no Conditions"))?;
    if let Some(not_before) = instant(conditions, "NotBefore")?
        && not_before > now + CLOCK_SKEW
    {
        return Err(rejected("the Assertion is not valid yet (NotBefore)"));
    }
    if let Some(not_on_or_after) = instant(conditions, "NotOnOrAfter")? {
        if not_on_or_after + CLOCK_SKEW <= now {
            return Err(rejected("the Assertion has expired (NotOnOrAfter)"));
        }
        valid_until = valid_until.min(not_on_or_after);
    }
    let restrictions: Vec<_> = children(conditions, "AudienceRestriction").collect();
    let ours =
        |r: &Node<'_, '_>| children(*r, "Audience").any(|a| text_of(a).trim() == sp.entity_id);
    if restrictions.is_empty() || !restrictions.iter().all(ours) {
        return Err(rejected(
            "the Assertion is not addressed to this service provider",
        ));
    }

    let subject = child(assertion, "Subject").ok_or_else(|| rejected("no Subject"))?;
    let confirmation_until = bearer_confirmation(subject, sp, request_id, now)?;
    valid_until = valid_until.min(confirmation_until);

    if child(assertion, "AuthnStatement").is_none() {
        return Err(rejected("the Assertion has no AuthnStatement"));
    }

    let name_id = child(subject, "NameID").ok_or_else(|| rejected("no NameID"))?;
    let name_id_value = text_of(name_id).trim().to_owned();
    let format = name_id.attribute("Format").unwrap_or(UNSPECIFIED_FORMAT);
    if format == TRANSIENT_FORMAT {
        return Err(rejected(
            "a transient NameID changes every sign-in and cannot identify a member: \
             configure a persistent or email NameID at the IdP",
        ));
    }
    let external_id = ExternalId::parse(&name_id_value).map_err(|e| rejected(e.to_string()))?;

    let attributes = Attributes::of(assertion);
    let email = match &config.email_attribute {
        Some(name) => attributes.first(&[name.as_str()]),
        None => attributes.first(SamlConfig::DEFAULT_EMAIL_ATTRIBUTES),
    }
    // Only a NameID the IdP declares an email address is read as one: an
    // unspecified one may be a user name that merely looks like an email.
    .or_else(|| (format == EMAIL_FORMAT).then(|| name_id_value.clone()))
    .and_then(|e| Email::parse(&e).ok());
    let name = match &config.name_attribute {
        Some(n) => attributes.first(&[n.as_str()]),
        None => attributes.first(SamlConfig::DEFAULT_NAME_ATTRIBUTES),
    }
    .map(|n| {
        n.trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_NAME)
            .collect::<String>()
    })
    .filter(|n| !n.is_empty());
    let groups = config
        .groups_attribute
        .as_deref()
        .and_then(|name| groups(&attributes, name));

    // Accepted strictly before the end of its window, which is also how long
    // the replay cache remembers it (a record is live while now < until).
    let valid_until = valid_until + CLOCK_SKEW;
    if now >= valid_until {
        return Err(rejected("the Assertion has expired"));
    }
    Ok(VerifiedAssertion {
        identity: IdpIdentity {
            external_id,
            email,
            // SAML has no standard "verified" claim: trust comes from an
            // invitation or a verified claimed domain.
            email_verified: false,
            name,
            groups,
        },
        assertion_id: assertion_id.to_owned(),
        valid_until,
    })
}

/// The attribute Entra ID sends instead of the groups when a member is in
/// more than it puts in an assertion (150): a link to Microsoft Graph.
const ENTRA_GROUPS_LINK: &str = "http://schemas.microsoft.com/claims/groups.link";

/// The member's groups: every value of every attribute `name`. An attribute
/// left out means no groups, as IdPs leave it out for a member in none;
/// except for Entra ID's overage link, which Admit does not follow: `None`
/// then keeps the groups the member has.
fn groups(attributes: &Attributes, name: &str) -> Option<Vec<String>> {
    if !attributes.has(name) && attributes.has(ENTRA_GROUPS_LINK) {
        tracing::warn!(
            attribute = name,
            "the IdP sent a groups overage link instead of the groups attribute, which Admit \
             does not follow: the member's groups are left as they were (configure the \
             application at the IdP to emit only the groups assigned to it)"
        );
        return None;
    }
    let (groups, dropped) = admit_domain::idp_groups(attributes.all(name));
    if dropped > 0 {
        tracing::warn!(
            attribute = name,
            kept = groups.len(),
            dropped,
            "some values of the groups attribute were not kept (empty, too long, with a \
             control character, or over the limit)"
        );
    }
    Some(groups)
}

/// A bearer confirmation for our ACS, answering our request (or none when
/// unsolicited), not expired. Returns its `NotOnOrAfter`.
fn bearer_confirmation(
    subject: Node<'_, '_>,
    sp: &ServiceProvider,
    request_id: Option<&str>,
    now: Timestamp,
) -> Result<Timestamp, SamlError> {
    let mut why = "no bearer SubjectConfirmation";
    for confirmation in children(subject, "SubjectConfirmation") {
        if confirmation.attribute("Method") != Some(BEARER) {
            continue;
        }
        let Some(data) = child(confirmation, "SubjectConfirmationData") else {
            why = "the bearer confirmation has no SubjectConfirmationData";
            continue;
        };
        if data.attribute("Recipient") != Some(sp.acs_url.as_str()) {
            why = "the Recipient is not this ACS";
            continue;
        }
        if data.attribute("InResponseTo") != request_id {
            why = "the confirmation's InResponseTo does not match the request";
            continue;
        }
        if let Some(not_before) = instant(data, "NotBefore")?
            && not_before > now + CLOCK_SKEW
        {
            why = "the confirmation is not valid yet (NotBefore)";
            continue;
        }
        match instant(data, "NotOnOrAfter")? {
            Some(until) if now < until + CLOCK_SKEW => return Ok(until),
            Some(_) => why = "the confirmation has expired (NotOnOrAfter)",
            None => why = "the confirmation has no NotOnOrAfter",
        }
    }
    Err(rejected(why))
}

/// The assertion's attributes: name → values, each value its whole text.
struct Attributes(Vec<(String, Vec<String>)>);

impl Attributes {
    fn of(assertion: Node<'_, '_>) -> Attributes {
        Attributes(
            children(assertion, "AttributeStatement")
                .flat_map(|s| children(s, "Attribute"))
                .map(|a| {
                    let name = a.attribute("Name").unwrap_or_default().to_owned();
                    let values = children(a, "AttributeValue").map(text_of).collect();
                    (name, values)
                })
                .collect(),
        )
    }

    /// The first value of the first of `names` present (in the order of `names`).
    fn first(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|want| {
            self.0
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(want))
                .and_then(|(_, values)| values.first())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        })
    }

    /// Whether an attribute `name` is there (with values or not).
    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Every value of every attribute `name`, in order: a multi-valued
    /// attribute may also come as several attributes of the same name.
    fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| values.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    const IDP: &str = "https://idp.test/meta";

    fn sp() -> ServiceProvider {
        ServiceProvider {
            entity_id: "https://admit.test/sso/saml/metadata/acme".into(),
            acs_url: "https://admit.test/sso/saml/acs".into(),
        }
    }

    fn config() -> SamlConfig {
        let mut c = SamlConfig {
            idp_entity_id: IDP.into(),
            idp_sso_url: "https://idp.test/sso".into(),
            idp_certificate_pem: String::new(),
            email_attribute: None,
            name_attribute: None,
            allow_idp_initiated: false,
            allow_sha1: false,
            groups_attribute: None,
        };
        c.name_attribute = Some("displayName".into());
        c
    }

    fn t0() -> Timestamp {
        Timestamp::from_unix(1_800_000_000)
    }

    /// A signed-content Assertion as samael's reduction hands it over.
    fn assertion(name_id: &str, format: &str, attributes: &str, audience: &str) -> String {
        let (at, until) = (t0().rfc3339(), (t0() + Duration::minutes(10)).rfc3339());
        let sp = sp();
        format!(
            r#"<saml:Assertion xmlns:saml="{ASSERTION_NS}" ID="_a1" IssueInstant="{at}" Version="2.0"><saml:Issuer>{IDP}</saml:Issuer><saml:Subject><saml:NameID Format="{format}">{name_id}</saml:NameID><saml:SubjectConfirmation Method="{BEARER}"><saml:SubjectConfirmationData InResponseTo="_req" NotOnOrAfter="{until}" Recipient="{acs}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{at}" NotOnOrAfter="{until}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{at}"/><saml:AttributeStatement>{attributes}</saml:AttributeStatement></saml:Assertion>"#,
            acs = sp.acs_url,
        )
    }

    fn attr(name: &str, value: &str) -> String {
        format!(
            r#"<saml:Attribute Name="{name}"><saml:AttributeValue>{value}</saml:AttributeValue></saml:Attribute>"#
        )
    }

    fn read(xml: &str, now: Timestamp) -> Result<VerifiedAssertion, SamlError> {
        read_verified(xml, &config(), &sp(), Some("_req"), now)
    }

    #[test]
    fn the_identity_comes_from_the_attributes_or_an_email_name_id() {
        let attrs = attr("mail", " Ann@Corp.test ") + &attr("displayName", " Ann Example\n");
        let ok = read(
            &assertion(
                "p-123",
                "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
                &attrs,
                &sp().entity_id,
            ),
            t0(),
        )
        .unwrap();
        assert_eq!(ok.identity.email.unwrap().as_str(), "ann@corp.test");
        assert_eq!(ok.identity.external_id.as_str(), "p-123");
        assert_eq!(ok.identity.name.as_deref(), Some("Ann Example"));
        assert!(
            !ok.identity.email_verified,
            "SAML has no verified-email claim"
        );
        assert_eq!(ok.assertion_id, "_a1");

        let by_name_id = read(
            &assertion("bo@corp.test", EMAIL_FORMAT, "", &sp().entity_id),
            t0(),
        )
        .unwrap();
        assert_eq!(by_name_id.identity.email.unwrap().as_str(), "bo@corp.test");
        // An unspecified NameID that looks like an email is not taken for one.
        let unspecified = read(
            &assertion("boss@corp.test", UNSPECIFIED_FORMAT, "", &sp().entity_id),
            t0(),
        )
        .unwrap();
        assert_eq!(unspecified.identity.email, None);
        let transient = read(
            &assertion("t-1", TRANSIENT_FORMAT, "", &sp().entity_id),
            t0(),
        );
        assert!(matches!(transient, Err(SamlError::Rejected(w)) if w.contains("transient")));
    }

    /// An attribute of several values.
    fn multi(name: &str, values: &[&str]) -> String {
        let values: String = values
            .iter()
            .map(|v| format!("<saml:AttributeValue>{v}</saml:AttributeValue>"))
            .collect();
        format!(r#"<saml:Attribute Name="{name}">{values}</saml:Attribute>"#)
    }

    fn groups_of(attributes: &str, groups_attribute: Option<&str>) -> Option<Vec<String>> {
        let config = SamlConfig {
            groups_attribute: groups_attribute.map(str::to_owned),
            ..config()
        };
        let xml = assertion("bo@corp.test", EMAIL_FORMAT, attributes, &sp().entity_id);
        read_verified(&xml, &config, &sp(), Some("_req"), t0())
            .unwrap()
            .identity
            .groups
    }

    fn names(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| (*s).to_owned()).collect())
    }

    const ENTRA_GROUPS: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups";

    #[test]
    fn entra_sends_group_object_ids_under_its_claim_uri() {
        let attrs = multi(
            ENTRA_GROUPS,
            &[
                "8a2e5b7c-1f4d-4a3b-9c6e-0d1f2a3b4c5d",
                "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
                "8a2e5b7c-1f4d-4a3b-9c6e-0d1f2a3b4c5d",
            ],
        ) + &attr("mail", "bo@corp.test");
        assert_eq!(
            groups_of(&attrs, Some(ENTRA_GROUPS)),
            names(&[
                "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
                "8a2e5b7c-1f4d-4a3b-9c6e-0d1f2a3b4c5d",
            ]),
            "without repeats, sorted"
        );
    }

    #[test]
    fn okta_sends_group_names_under_the_name_it_was_given() {
        let attrs = multi("groups", &["Everyone", " Engineering ", ""]);
        assert_eq!(
            groups_of(&attrs, Some("groups")),
            names(&["Engineering", "Everyone"]),
            "trimmed, empty values dropped"
        );
        // Names are compared as the email and name attributes' are.
        assert_eq!(
            groups_of(&attrs, Some("Groups")),
            names(&["Engineering", "Everyone"])
        );
        // The values of every attribute of that name.
        let split = attr("groups", "a") + &attr("mail", "bo@corp.test") + &attr("groups", "b");
        assert_eq!(groups_of(&split, Some("groups")), names(&["a", "b"]));
    }

    #[test]
    fn an_absent_attribute_is_no_groups_and_no_setting_reads_none() {
        let attrs = multi("groups", &["Everyone"]);
        assert_eq!(
            groups_of(&attr("mail", "bo@corp.test"), Some("groups")),
            names(&[])
        );
        assert_eq!(groups_of(&attrs, Some(ENTRA_GROUPS)), names(&[]));
        assert_eq!(groups_of(&attrs, None), None, "groups are not read");
        // Another attribute is not the groups: only the name configured.
        assert_eq!(groups_of(&attrs, Some("group")), names(&[]));
        // An attribute without values: no groups either.
        let empty = r#"<saml:Attribute Name="groups"/>"#;
        assert_eq!(groups_of(empty, Some("groups")), names(&[]));
    }

    #[test]
    fn an_entra_overage_link_leaves_the_groups_as_they_were() {
        let link = attr(
            ENTRA_GROUPS_LINK,
            "https://graph.windows.net/tenant/users/x/getMemberObjects",
        );
        assert_eq!(groups_of(&link, Some(ENTRA_GROUPS)), None);
        // Groups that are there win over a link.
        let both = link + &multi(ENTRA_GROUPS, &["g1"]);
        assert_eq!(groups_of(&both, Some(ENTRA_GROUPS)), names(&["g1"]));
    }

    #[test]
    fn only_this_service_provider_is_an_audience() {
        let other = read(
            &assertion(
                "bo@corp.test",
                EMAIL_FORMAT,
                "",
                "https://admit.test/sso/saml/metadata/other",
            ),
            t0(),
        );
        assert!(matches!(other, Err(SamlError::Rejected(w)) if w.contains("addressed")));
    }

    #[test]
    fn the_window_ends_where_the_replay_cache_forgets() {
        let xml = assertion("bo@corp.test", EMAIL_FORMAT, "", &sp().entity_id);
        // issued + 5 min (shorter than the 10-minute conditions) + 2 min skew.
        let end = t0() + MAX_RESPONSE_AGE + CLOCK_SKEW;
        let last = read(&xml, end - Duration::seconds(1)).unwrap();
        assert_eq!(last.valid_until, end);
        assert!(read(&xml, end).is_err());
        assert!(
            read(&xml, t0() - CLOCK_SKEW - Duration::seconds(1)).is_err(),
            "issued in the future"
        );
        let wrong_request = read_verified(&xml, &config(), &sp(), Some("_other"), t0());
        assert!(wrong_request.is_err());
        let unsolicited = read_verified(&xml, &config(), &sp(), None, t0());
        assert!(
            unsolicited.is_err(),
            "an answer to a request is not unsolicited"
        );
    }
}
