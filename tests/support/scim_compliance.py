"""Admit's SCIM endpoint against an independent compliance suite: scim2-tester.

Usage: python3 scim_compliance.py --url BASE_URL --token TOKEN [--email-domain DOMAIN]

BASE_URL is what `POST /orgs/{org}/scim/token` answered (`{PUBLIC_URL}/scim/v2/{org}`),
TOKEN the bearer token it issued. The script runs every check scim2-tester's
`check_server` runs (discovery of /ServiceProviderConfig, /ResourceTypes and
/Schemas; an unknown URL; for each resource type the server publishes:
creation, reads with and without `attributes`/`excludedAttributes`,
replacement, deletion, and PATCH add/remove/replace of every attribute),
prints one line per check (status, title, resource type, reason) and a final
JSON summary, and exits 0 only when every check passed.

A check passes when scim2-tester says SUCCESS, COMPLIANT or ACCEPTABLE (the
RFC's MUST, SHOULD and MAY met). DEVIATION, ERROR and CRITICAL fail. SKIPPED
fails too, unless it is for a feature the server's own ServiceProviderConfig
declares unsupported (bulk, sort, changePassword, etag, patch, filter); each
such skip is printed with the reason it is allowed. One more skip is allowed
and said so: scim2-tester's root `POST /.search` answered 501, which RFC 7644
§3.12 names as the answer for an operation a service provider does not
support; the ServiceProviderConfig has no attribute for it (scim2-tester says
so itself), and Admit's contract does not serve it.

Values for Admit: scim2-tester fills `userName` with a random UUID and
`emails[].value` with `<uuid>@<uuid>.com`. A SCIM user provisions an Admit
member by email (its primary email, else its first work email, else its
first, else an email-shaped `userName`), so a user whose only address is a
UUID is rightly refused (400 invalidValue) and every check creating one would
fail for a reason that is not the server's. Rather than loosening Admit, this
script wraps scim2-tester's value generator (`scim2_tester.filling.
generate_random_value`, re-bound in every scim2-tester module that imported
it) so that `userName` and any email `value` come out as
`x-<random>@<email domain>` (default `example.test`; the Rust test passes its
own test domain, so the invitations Admit sends stay with that test). Every
other value is scim2-tester's own.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from importlib import metadata
from typing import Any

import httpx2
import scim2_tester.filling as filling
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}

# The ServiceProviderConfig attributes that declare optional features, and
# the words of scim2-tester's skip reasons that name each.
DECLARABLE = {
    "bulk": ("bulk",),
    "sort": ("sort",),
    "changePassword": ("password",),
    "etag": ("etag",),
    "patch": ("patch",),
    "filter": ("filter",),
}


def email_address(domain: str) -> str:
    return f"x-{uuid.uuid4().hex[:16]}@{domain}"


def is_user_name(path: Any) -> bool:
    return str(path).split(":")[-1] == "userName"


def is_email_value(path: Any) -> bool:
    text = str(path).split(":")[-1]
    if text == "emails.value":
        return True
    binding = path.resolve()
    model = binding.target_model if binding else getattr(path, "model", None)
    field = binding.target_field_name if binding else None
    return field == "value" and model is not None and "email" in model.__name__.lower()


def install_value_generator(domain: str) -> None:
    """Make `userName` and email values email addresses of `domain`."""
    original = filling.generate_random_value

    def generate(context, path, mutability=None, required=None):  # noqa: ANN001, ANN202
        value = original(context, path, mutability=mutability, required=required)
        if value is None or not (is_user_name(path) or is_email_value(path)):
            return value
        if isinstance(value, list):
            return [email_address(domain) if isinstance(v, str) else v for v in value]
        return email_address(domain) if isinstance(value, str) else value

    for name, module in list(sys.modules.items()):
        if name.startswith("scim2_tester") and getattr(module, "generate_random_value", None) is original:
            module.generate_random_value = generate


def declared_unsupported(config: Any) -> set[str]:
    """The optional features the ServiceProviderConfig says are not supported."""
    out = set()
    if config is None:
        return out
    for feature in DECLARABLE:
        attr = {"changePassword": "change_password"}.get(feature, feature)
        value = getattr(config, attr, None)
        if value is not None and getattr(value, "supported", None) is False:
            out.add(feature)
    return out


def allowed_skip(result: Any, unsupported: set[str]) -> str | None:
    """Why a SKIPPED result is acceptable, or None when it is a failure."""
    reason = (result.reason or "").lower()
    for feature in sorted(unsupported):
        if any(word in reason for word in DECLARABLE[feature]):
            return f"the ServiceProviderConfig declares {feature} unsupported"
    if "/.search" in reason and "not supported" in reason:
        return (
            "root POST /.search answered 501 Not Implemented (RFC 7644 §3.12); "
            "the ServiceProviderConfig has no attribute to declare it"
        )
    return None


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the SCIM base URL")
    parser.add_argument("--token", required=True, help="the SCIM bearer token")
    parser.add_argument(
        "--email-domain",
        default="example.test",
        help="the domain of the userName and email values generated",
    )
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    install_value_generator(args.email_domain)
    http = httpx2.Client(
        base_url=args.url,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=args.timeout,
    )
    client = SyncSCIMClient(http)
    results = check_server(client)
    unsupported = declared_unsupported(client.provider.config if client.provider else None)

    failures: list[dict[str, Any]] = []
    allowed: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.name] = counts.get(r.status.name, 0) + 1
        where = f" [{r.resource_type}]" if r.resource_type else ""
        entry = {
            "status": r.status.name,
            "title": r.title,
            "resource_type": r.resource_type,
            "reason": one_line(r.reason),
        }
        if r.status in PASSING:
            print(f"{r.status.name:<10} {r.title}{where}: {one_line(r.reason)}")
            continue
        why = allowed_skip(r, unsupported) if r.status == Status.SKIPPED else None
        if why is not None:
            entry["allowed_because"] = why
            allowed.append(entry)
            print(f"{r.status.name:<10} {r.title}{where}: {one_line(r.reason)} (allowed: {why})")
            continue
        entry["data"] = one_line(repr(r.data))[:2000]
        failures.append(entry)
        print(f"{r.status.name:<10} {r.title}{where}: {one_line(r.reason)} (FAILED)")
        if r.data is not None:
            print(f"           data: {entry['data']}")

    summary = {
        "scim2_tester": metadata.version("scim2-tester"),
        "scim2_client": metadata.version("scim2-client"),
        "scim2_models": metadata.version("scim2-models"),
        "checks": len(results),
        "by_status": counts,
        "declared_unsupported": sorted(unsupported),
        "allowed_skips": allowed,
        "failures": failures,
        "ok": not failures and bool(results),
    }
    print(json.dumps(summary, indent=2, default=str))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
