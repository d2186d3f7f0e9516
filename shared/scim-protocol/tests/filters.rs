//! Filters: the probes identity providers send, complex expressions,
//! evaluation semantics, and every kind of bad input.

use admit_scim_protocol::{CompValue, CompareOp, Filter, GROUP, ScimType, USER};
use serde_json::{Value, json};

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Bjensen-EXT",
        "userName": "Bjensen@Example.com",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "active": true,
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z"
        }
    })
}

fn m(filter: &str) -> bool {
    Filter::parse(filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(&user(), &USER)
}

#[test]
fn probes_give_their_equality() {
    let cases = [
        (r#"userName eq "a@b.c""#, ("userName", "a@b.c")),
        (r#"USERNAME EQ "a@b.c""#, ("userName", "a@b.c")),
        (
            r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
            ("externalId", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"),
        ),
        (
            r#"displayName eq "Sales Team""#,
            ("displayName", "Sales Team"),
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#,
            ("userName", "x"),
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "g""#,
            ("displayName", "g"),
        ),
        (r#"name.GIVENNAME eq "Ada""#, ("name.givenName", "Ada")),
        (r#"id eq "42""#, ("id", "42")),
        (r#"(userName eq "p")"#, ("userName", "p")),
        (r#"nickName eq "n""#, ("nickName", "n")),
    ];
    for (filter, (path, value)) in cases {
        let f = Filter::parse(filter).unwrap();
        assert_eq!(
            f.equality(),
            Some((path.to_string(), value.to_string())),
            "{filter}"
        );
    }
}

#[test]
fn no_equality_for_anything_else() {
    for filter in [
        r#"userName ne "a""#,
        r#"userName co "a""#,
        "active eq true",
        "userName eq null",
        r#"userName eq "a" and active eq true"#,
        r#"userName eq "a" or userName eq "b""#,
        r#"not (userName eq "a")"#,
        r#"emails[type eq "work"].value eq "a@b.c""#,
        r#"emails[value eq "a@b.c"]"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#,
        "userName pr",
    ] {
        assert_eq!(Filter::parse(filter).unwrap().equality(), None, "{filter}");
    }
}

#[test]
fn string_case_rules_follow_case_exact() {
    assert!(m(r#"userName eq "bjensen@example.com""#));
    assert!(m(r#"userName eq "BJENSEN@EXAMPLE.COM""#));
    assert!(m(r#"displayName eq "babs jensen""#));
    assert!(m(r#"externalId eq "Bjensen-EXT""#));
    assert!(
        !m(r#"externalId eq "bjensen-ext""#),
        "externalId is caseExact"
    );
    assert!(
        !m(r#"id eq "2819C223-7F76-453A-919D-413861904646""#),
        "id is caseExact"
    );
    assert!(m(r#"userName sw "BJEN""#));
    assert!(m(r#"userName ew "EXAMPLE.COM""#));
    assert!(m(r#"userName co "sen@ex""#));
    assert!(!m(r#"externalId co "ext""#));
    assert!(m(r#"externalId co "EXT""#));
}

#[test]
fn complex_and_multi_valued_attributes() {
    assert!(m(r#"name.familyName eq "jensen""#));
    assert!(m(r#"name.givenName sw "B" and name.familyName ew "n""#));
    assert!(m(r#"emails co "jensen.org""#), "any email, through value");
    assert!(m(r#"emails.value ew "@example.com""#));
    assert!(m(r#"emails eq "BABS@JENSEN.ORG""#));
    assert!(!m(r#"emails eq "nobody@jensen.org""#));
    assert!(m(r#"emails[type eq "work" and value co "@example.com"]"#));
    assert!(!m(r#"emails[type eq "home" and value co "@example.com"]"#));
    assert!(m(r#"emails[type eq "home"].value eq "babs@jensen.org""#));
    assert!(m(
        r#"emails[primary eq true].value eq "bjensen@example.com""#
    ));
    assert!(!m(r#"emails[primary eq true].value eq "babs@jensen.org""#));
    assert!(m(r#"emails[not (type eq "work")]"#));
    assert!(m(r#"emails[type eq "work"].value pr"#));
    assert!(!m(r#"emails[type eq "other"].value pr"#));
    assert!(m(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "Jensen""#
    ));
}

#[test]
fn logic_and_precedence() {
    assert!(m(
        r#"userName eq "nobody" or userName eq "bjensen@example.com" and active eq true"#
    ));
    assert!(!m(
        r#"(userName eq "nobody" or userName eq "bjensen@example.com") and active eq false"#
    ));
    // not binds tighter than and; and tighter than or.
    assert!(m(r#"not (active eq false) and displayName pr"#));
    assert!(!m(
        r#"not (active eq true) or userName eq "x" and displayName pr"#
    ));
    assert!(!m(
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#
    ));
    assert!(m(r#"NOT (userName EQ "x") AND displayName Pr"#));
}

#[test]
fn presence_null_and_absence() {
    assert!(m("displayName pr"));
    assert!(m("name pr"));
    assert!(m("emails pr"));
    assert!(!m("title pr"), "not kept: never present");
    assert!(m("title eq null"));
    assert!(!m("displayName eq null"));
    assert!(m("displayName ne null"));
    assert!(
        m(r#"title ne "Tour Guide""#),
        "ne is not-eq, so absent matches"
    );
    assert!(!m(r#"title eq "Tour Guide""#));
    let mut empty = user();
    empty["displayName"] = json!("");
    let f = Filter::parse("displayName pr").unwrap();
    assert!(!f.matches(&empty, &USER), "an empty string is no value");
}

#[test]
fn booleans_numbers_and_dates() {
    assert!(m("active eq true"));
    assert!(m("active eq TRUE"));
    assert!(!m("active eq false"));
    assert!(m("active ne false"));
    assert!(
        m(r#"active eq "true""#),
        "a boolean compared with its string"
    );
    assert!(m(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
    assert!(!m(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#));
    assert!(m(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#));
    assert!(m(r#"meta.created lt "2011-01-01T00:00:00Z""#));
    assert!(m(r#"meta.created le "2010-01-23T04:56:22Z""#));
    assert!(!m("userName eq 5"), "a string is no number");
}

#[test]
fn unknown_attributes_and_extensions_match_nothing() {
    assert!(!m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
    ));
    assert!(!m(r#"nickName eq "Babs""#));
    assert!(!m(r#"name.middleName eq "Jane""#));
    assert!(!m(r#"urn:other:User:userName eq "bjensen@example.com""#));
}

#[test]
fn matches_on_non_objects_is_false() {
    let f = Filter::parse("userName pr").unwrap();
    assert!(!f.matches(&json!([1, 2]), &USER));
    assert!(!f.matches(&Value::Null, &USER));
}

#[test]
fn group_filters() {
    let group = json!({
        "id": "g1",
        "displayName": "Engineering",
        "members": [{"value": "u1", "display": "Ada"}, {"value": "U2", "type": "User"}]
    });
    let g = |f: &str| Filter::parse(f).unwrap().matches(&group, &GROUP);
    assert!(g(r#"displayName eq "engineering""#));
    assert!(g(r#"members eq "u1""#));
    assert!(g(r#"members.value eq "U2""#));
    assert!(!g(r#"members.value eq "u2""#), "member ids are caseExact");
    assert!(g(r#"members[value eq "u1"]"#));
    assert!(g(r#"members[type eq "user"]"#));
    assert!(!g(r#"userName eq "u1""#), "no userName on a group");
}

#[test]
fn parses_rfc_style_examples() {
    for filter in [
        r#"userName Eq "john""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        "x.y gt -1.5e3",
        "a eq 0",
        "a eq false",
        r#"members[value eq "u1"] and not(displayName pr)"#,
        "  userName   pr  ",
    ] {
        let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        // Display gives text that parses back to the same filter.
        let again = Filter::parse(&f.to_string()).unwrap();
        assert_eq!(f, again, "{filter} -> {f}");
    }
}

#[test]
fn display_keeps_precedence() {
    let f = Filter::parse(r#"(a eq 1 or b eq 2) and c pr"#).unwrap();
    assert_eq!(f.to_string(), "(a eq 1 or b eq 2) and c pr");
    let f = Filter::parse(r#"a eq 1 or b eq 2 and c pr"#).unwrap();
    assert_eq!(f.to_string(), "a eq 1 or b eq 2 and c pr");
    let f = Filter::parse(r#"emails[type eq "work"].value eq "\"q\"""#).unwrap();
    assert_eq!(f.to_string(), r#"emails[type eq "work"].value eq "\"q\"""#);
}

#[test]
fn value_kinds() {
    let v = |f: &str| match Filter::parse(f).unwrap() {
        Filter::Compare(_, op, v) => (op, v),
        other => panic!("{other:?}"),
    };
    assert_eq!(v("a eq null"), (CompareOp::Eq, CompValue::Null));
    assert_eq!(v("a ne False"), (CompareOp::Ne, CompValue::Bool(false)));
    assert_eq!(v("a gt 10"), (CompareOp::Gt, CompValue::Number(10.into())));
    assert_eq!(
        v(r#"a le "z""#),
        (CompareOp::Le, CompValue::String("z".into()))
    );
    assert!(matches!(v("a ge -2.5").1, CompValue::Number(n) if n.as_f64() == Some(-2.5)));
}

#[test]
fn bad_filters_are_invalid_filter_with_a_detail() {
    let cases = [
        ("", "empty"),
        ("   ", "empty"),
        ("userName", "expected an operator"),
        ("userName eq", "expected a value"),
        (r#"userName eq "x"#, "not closed"),
        (r#"userName xx "a""#, "not an operator"),
        ("externalId eq jyoung", "expected a value"),
        (r#"userName eq 'single'"#, "expected a value"),
        (r#"(userName eq "a""#, "expected \")\""),
        (r#"userName eq "a")"#, "unexpected"),
        (r#"not userName eq "a""#, "\"(\" after \"not\""),
        (r#"emails[type eq "work""#, "expected \"]\""),
        (r#"emails[type[x eq 1] eq 1]"#, "another \"[\""),
        ("userName gt true", "cannot compare"),
        ("userName co null", "cannot compare"),
        ("userName sw 5", "cannot compare"),
        ("active lt false", "cannot compare"),
        (r#"userName eq "a" and"#, "expected an expression"),
        (
            r#"and userName eq "a""#,
            "expected an attribute name, found \"and\"",
        ),
        (r#"userName eq "a" or or b pr"#, "found \"or\""),
        (r#"1userName eq "a""#, "invalid attribute name"),
        ("userName eq 1.2.3", "not a valid number"),
        (r#"emails[type eq "work"].value"#, "expected an operator"),
        (r#"userName eq "a" userName eq "b""#, "unexpected"),
        (r#"name.givenName.x eq "a""#, "invalid attribute name"),
        (r#":userName eq "a""#, "invalid attribute name"),
        (
            r#"name.givenName[value eq "a"]"#,
            "must follow the attribute",
        ),
        (r#"userName eq "\x""#, "not a valid JSON string"),
        (
            r#"emails[type eq "work"].1 eq "a""#,
            "invalid sub-attribute",
        ),
        ("()", "expected an attribute name"),
    ];
    for (filter, expect) in cases {
        let e = Filter::parse(filter).expect_err(filter);
        assert_eq!(e.status, 400, "{filter}");
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{filter}");
        assert!(
            e.detail.contains(expect),
            "{filter}: {:?} should mention {expect:?}",
            e.detail
        );
        assert!(e.detail.starts_with("invalid filter"), "{}", e.detail);
    }
}

#[test]
fn check_reports_what_never_makes_sense() {
    let bad = [
        r#"active co "t""#,
        r#"active sw "t""#,
        r#"userName[value eq "x"]"#,
        r#"userName.x eq "a""#,
        r#"emails[primary co "t"]"#,
        r#"name eq "Ada""#,
    ];
    for filter in bad {
        let e = Filter::parse(filter)
            .unwrap()
            .check(&USER)
            .expect_err(filter);
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{filter}");
    }
    for filter in [
        r#"userName eq "a""#,
        r#"title eq "x""#,
        "active eq true",
        r#"emails[type eq "work"].value co "@""#,
        r#"emails co "@x""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x""#,
        r#"meta.created gt "2020-01-01T00:00:00Z""#,
    ] {
        assert!(
            Filter::parse(filter).unwrap().check(&USER).is_ok(),
            "{filter}"
        );
    }
    assert!(
        Filter::parse(r#"members[value eq "u"]"#)
            .unwrap()
            .check(&GROUP)
            .is_ok()
    );
}

#[test]
fn from_str_is_parse() {
    let f: Filter = r#"userName eq "a""#.parse().unwrap();
    assert_eq!(f, Filter::parse(r#"userName eq "a""#).unwrap());
}
