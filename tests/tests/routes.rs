//! The routes are written down in three places: the code (each function's
//! `routes()`), `openapi.yaml`, and the API Gateway routes of
//! `infra/template.yaml`. These tests hold the three to one set. The code's
//! side is exact by construction: each function builds its router with
//! `admit_http::routes::Routes`, which records every `(method, path)` it
//! mounts, and `route_table()` is that record. Nothing here starts a server.

use admit_tests::workspace_members;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// `METHOD /path`, as written in every place compared.
type RouteSet = BTreeSet<String>;

/// A function crate's `route_table()`, as a set.
type Mounts = fn() -> RouteSet;

/// Every function crate under `functions/`, by directory, with the routes it
/// mounts (`None`: it serves no HTTP).
const FUNCTIONS: &[(&str, Option<Mounts>)] = &[
    ("invite", Some(|| table(admit_invite::route_table()))),
    ("accept", Some(|| table(admit_accept::route_table()))),
    ("confirm", Some(|| table(admit_confirm::route_table()))),
    (
        "sso-callback",
        Some(|| table(admit_sso_callback::route_table())),
    ),
    ("remind", None),
    ("scim", Some(|| table(admit_scim::route_table()))),
];

/// Routes API Gateway sends to a function beyond its `route_table()`, by
/// function: its catch-all, which no `(method, path)` of OpenAPI can write.
/// SCIM answers every path under `/scim/v2/{org}/` in SCIM's own format (a
/// wrong method 405, `/Bulk` and `/Me` 501, anything else 404): without the
/// greedy route API Gateway would answer those itself, with its own
/// `{"message":"Not Found"}`. Its specific routes stay listed too, so the
/// template still names each operation the function serves.
const GATEWAY_ONLY: &[(&str, &str)] = &[("scim", admit_scim::GATEWAY_CATCH_ALL)];

fn table(routes: Vec<admit_http::routes::Route>) -> RouteSet {
    let set: RouteSet = routes.iter().map(ToString::to_string).collect();
    assert_eq!(
        set.len(),
        routes.len(),
        "a route is listed twice: {routes:?}"
    );
    set
}

fn read(relative: &str) -> String {
    let path = format!("{}/../{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(relative: &str) -> serde_json::Value {
    let value: serde_norway::Value = serde_norway::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not YAML: {e}"));
    serde_json::to_value(value).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Every route the functions mount, each once: two functions mounting the
/// same route would collide in `admit serve`.
fn mounted() -> RouteSet {
    let mut all = RouteSet::new();
    for (function, routes) in FUNCTIONS {
        for route in routes.map(|f| f()).unwrap_or_default() {
            assert!(
                all.insert(route.clone()),
                "{route} is mounted by {function} and by another function"
            );
        }
    }
    all
}

/// `openapi.yaml`'s operations: each path's HTTP method keys.
fn documented() -> RouteSet {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let spec = yaml("openapi.yaml");
    let paths = spec["paths"].as_object().expect("openapi.yaml has `paths`");
    let mut out = RouteSet::new();
    for (path, item) in paths {
        let item = item
            .as_object()
            .unwrap_or_else(|| panic!("openapi.yaml: {path} is not a path item"));
        for method in item.keys().filter(|k| METHODS.contains(&k.as_str())) {
            out.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    out
}

/// The template's functions: the function crate each is built from (its
/// `Binary`, or the directory of its `Dockerfile`) and its `HttpApi` routes.
fn template_functions() -> BTreeMap<String, (String, RouteSet)> {
    let template = yaml("infra/template.yaml");
    let resources = template["Resources"]
        .as_object()
        .expect("the template has `Resources`");
    let mut out = BTreeMap::new();
    for (name, resource) in resources {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let metadata = &resource["Metadata"];
        let function = if let Some(binary) = metadata["BuildProperties"]["Binary"].as_str() {
            binary.strip_prefix("admit-").unwrap_or(binary).to_owned()
        } else if let Some(dockerfile) = metadata["Dockerfile"].as_str() {
            dockerfile
                .strip_prefix("functions/")
                .and_then(|d| d.strip_suffix("/Dockerfile"))
                .unwrap_or(dockerfile)
                .to_owned()
        } else {
            panic!("infra/template.yaml: {name} names neither a Binary nor a Dockerfile");
        };
        let mut routes = RouteSet::new();
        if let Some(events) = resource["Properties"]["Events"].as_object() {
            for (event, e) in events {
                if e["Type"] != "HttpApi" {
                    continue;
                }
                let props = &e["Properties"];
                let (Some(method), Some(path)) = (props["Method"].as_str(), props["Path"].as_str())
                else {
                    panic!("infra/template.yaml: {name}.{event} lacks Method or Path");
                };
                let route = format!("{} {path}", method.to_uppercase());
                assert!(
                    routes.insert(route.clone()),
                    "infra/template.yaml: {name} routes {route} twice"
                );
            }
        }
        out.insert(name.clone(), (function, routes));
    }
    out
}

/// The two sets' difference, or `None` when they are equal.
fn difference(left: &str, l: &RouteSet, right: &str, r: &RouteSet) -> Option<String> {
    if l == r {
        return None;
    }
    let mut out = String::new();
    for route in l.difference(r) {
        writeln!(out, "  {route}: in {left}, not in {right}").unwrap();
    }
    for route in r.difference(l) {
        writeln!(out, "  {route}: in {right}, not in {left}").unwrap();
    }
    Some(out)
}

#[test]
fn openapi_documents_exactly_the_routes_the_functions_mount() {
    let mounted = mounted();
    assert!(mounted.len() > 30, "{mounted:#?}");
    if let Some(diff) = difference(
        "the functions' routes()",
        &mounted,
        "openapi.yaml",
        &documented(),
    ) {
        panic!("openapi.yaml and the code disagree:\n{diff}");
    }
}

#[test]
fn api_gateway_routes_each_path_to_the_function_that_mounts_it() {
    let mut problems = String::new();
    let template = template_functions();
    for (resource, (function, routes)) in &template {
        let Some((_, mounts)) = FUNCTIONS.iter().find(|(f, _)| f == function) else {
            writeln!(
                problems,
                "{resource} is built from `{function}`, which is not a function crate listed here"
            )
            .unwrap();
            continue;
        };
        let mut mounts = mounts.map(|f| f()).unwrap_or_default();
        mounts.extend(
            GATEWAY_ONLY
                .iter()
                .filter(|(f, _)| f == function)
                .map(|(_, route)| (*route).to_owned()),
        );
        if let Some(diff) = difference(
            &format!("{function}'s routes()"),
            &mounts,
            &format!("infra/template.yaml's {resource}"),
            routes,
        ) {
            problems.push_str(&diff);
        }
    }
    for (function, _) in FUNCTIONS {
        if !template.values().any(|(f, _)| f == function) {
            writeln!(
                problems,
                "  {function} is deployed by no function of infra/template.yaml"
            )
            .unwrap();
        }
    }
    assert!(
        problems.is_empty(),
        "infra/template.yaml and the code disagree:\n{problems}"
    );
}

/// A new crate under `functions/` must join [`FUNCTIONS`], or its routes
/// would escape both comparisons.
#[test]
fn every_function_crate_is_compared() {
    let manifest = read("Cargo.toml");
    let listed: BTreeSet<&str> = FUNCTIONS.iter().map(|(f, _)| *f).collect();
    let members: BTreeSet<&str> = workspace_members(&manifest)
        .into_iter()
        .filter_map(|m| m.strip_prefix("functions/"))
        .collect();
    assert!(!members.is_empty(), "Cargo.toml lists functions/*");
    assert_eq!(
        members, listed,
        "the workspace's functions/* members and tests/tests/routes.rs's FUNCTIONS differ"
    );
}
