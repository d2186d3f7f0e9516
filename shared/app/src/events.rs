//! The audit log: making the events each change writes with it, recording
//! the ones that change nothing else (a refused sign-in, a failed login),
//! and reading an organization's log.

use crate::views::{EventPage, EventView};
use crate::{App, Error, Principal, Result};
use admit_domain::{
    Account, Actor, Event, EventDetails, EventQuery, EventSource, EventType, MemberId, Membership,
    OrgId, Organization, Status, Timestamp,
};

/// Events per page of the listing (the contract's page size).
pub const EVENTS_PAGE_SIZE: usize = 100;

/// The filters of `GET /orgs/{org}/events`, as the query string gives them
/// (`start`, `end`, `member`, `type`, `cursor`); empty ones are absent.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub start: Option<String>,
    pub end: Option<String>,
    pub member: Option<String>,
    pub kind: Option<String>,
    pub cursor: Option<String>,
}

fn wall_clock_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

impl App {
    /// An event of a change `actor` makes in `org` now, from this request's
    /// client, kept for the configured retention.
    pub(crate) fn event(
        &self,
        org: &OrgId,
        actor: &Actor,
        kind: EventType,
        member: Option<&MemberId>,
        details: EventDetails,
    ) -> Event {
        let at = self.now();
        let days = i64::from(self.config().event_retention_days.max(1));
        EventSource {
            org_id: org.clone(),
            at,
            actor: actor.clone(),
            ip: self.client,
            expires_at: at + time::Duration::days(days),
        }
        .event(kind, member, details, wall_clock_micros(), &mut rand::rng())
    }

    /// The event of a change to membership `m`, saying whose it is.
    pub(crate) fn member_event(
        &self,
        m: &Membership,
        actor: &Actor,
        kind: EventType,
        details: EventDetails,
    ) -> Event {
        let details = EventDetails {
            email: Some(m.email.clone()),
            ..details
        };
        self.event(&m.org_id, actor, kind, Some(&m.member_id), details)
    }

    /// Record a wrong password for an existing account: `auth.login_failed`
    /// in each organization where it is an accepted or confirmed member.
    /// Recording is best effort: the refusal stands whatever happens here.
    pub(crate) async fn record_login_failure(&self, account: &Account) {
        let actor = Actor::user(&account.id, &account.email);
        let memberships = match self.store().memberships_of_user(&account.id).await {
            Ok(ms) => ms,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the memberships of a failed login");
                return;
            }
        };
        let events: Vec<Event> = memberships
            .iter()
            .filter(|m| matches!(m.status, Status::Accepted | Status::Confirmed))
            .take(EVENTS_PAGE_SIZE)
            .map(|m| self.member_event(m, &actor, EventType::AuthLoginFailed, Default::default()))
            .collect();
        if let Err(e) = self.store().record_events(&events).await {
            tracing::warn!(error = %e, "could not record a failed login");
        }
    }

    /// `GET /orgs/{org}/events`: the organization's log, newest first.
    pub async fn list_events(
        &self,
        who: &Principal,
        org: &str,
        filter: EventFilter,
    ) -> Result<EventPage> {
        let admin = self.administrator(who, org).await?;
        let time = |field: &str, v: Option<String>| {
            v.filter(|s| !s.is_empty())
                .map(|s| {
                    Timestamp::parse(&s).map_err(|_| {
                        Error::InvalidRequest(format!(
                            "{field}: an RFC 3339 time, like 2026-11-30T12:00:00Z"
                        ))
                    })
                })
                .transpose()
        };
        let query = EventQuery {
            start: time("start", filter.start)?,
            end: time("end", filter.end)?,
            member: filter
                .member
                .filter(|s| !s.is_empty())
                .map(|m| {
                    MemberId::parse(&m)
                        .map_err(|_| Error::InvalidRequest("member: not a member id".into()))
                })
                .transpose()?,
            kind: filter
                .kind
                .filter(|s| !s.is_empty())
                .map(|t| {
                    EventType::parse(&t).map_err(|_| {
                        Error::InvalidRequest(format!("type: unknown event type {t:?}"))
                    })
                })
                .transpose()?,
        };
        if let (Some(start), Some(end)) = (query.start, query.end)
            && start > end
        {
            return Err(Error::InvalidRequest("start: after end".into()));
        }
        let page = self
            .store()
            .events(
                &admin.org.id,
                &query,
                filter.cursor.as_deref().filter(|c| !c.is_empty()),
                EVENTS_PAGE_SIZE,
            )
            .await?;
        Ok(EventPage {
            events: page.items.into_iter().map(EventView::from).collect(),
            next_cursor: page.next_cursor,
        })
    }
}

/// The names of the settings that differ between `before` and `after`
/// (`sso_enabled`, `sso.issuer`, `policies.require_sso`…): what
/// `sso.settings_changed` and `policies.changed` say, never the values.
pub(crate) fn changed_settings(before: &Organization, after: &Organization) -> Vec<String> {
    fn walk(prefix: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
        use serde_json::Value::Object;
        match (a, b) {
            (Object(a), Object(b)) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    let null = serde_json::Value::Null;
                    walk(
                        &name,
                        a.get(k).unwrap_or(&null),
                        b.get(k).unwrap_or(&null),
                        out,
                    );
                }
            }
            (a, b) if a != b => out.push(prefix.to_owned()),
            _ => {}
        }
    }
    let as_value = |o: &Organization| serde_json::to_value(o).unwrap_or_default();
    let mut out = Vec::new();
    walk("", &as_value(before), &as_value(after), &mut out);
    out.retain(|name| name != "settings_version" && name != "occupied_seats");
    // The SCIM token is one setting: its parts (a digest, a time) are not named.
    for name in &mut out {
        if name.starts_with("scim_token.") {
            *name = "scim_token".into();
        }
    }
    out.dedup();
    out
}
