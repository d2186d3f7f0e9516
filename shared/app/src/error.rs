use admit_store::StoreError;

/// What a use case refuses with. Adapters map each variant to a status and
/// an error code in exactly one place (`admit-http`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("wrong email or master password")]
    WrongCredentials,
    #[error("you may not do this in this organization")]
    Forbidden,
    #[error("this organization requires single sign-on")]
    SsoRequired,
    /// `SsoRequired`, with the single-use token that lets this account link
    /// its identity at that organization's IdP (`/sso/start?link_token=`).
    #[error("this organization requires single sign-on; link your account to it")]
    SsoRequiredLink { link_token: String },
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("this invitation has expired; ask an administrator to send a new one")]
    Expired,
    #[error("not enough free seats")]
    NoSeats,
    /// A domain's DNS TXT record is not there (yet).
    #[error("the DNS record that proves this domain was not found; publish it and try again")]
    NotVerified,
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The SSO sign-in decision refused (docs/product.md's decision table).
    #[error("{}", refusal_message(*.0))]
    Refused(admit_domain::Refusal),
    /// The sign-in response did not verify, or the sign-in state is unknown, used or from another browser.
    #[error("single sign-on failed: {0}")]
    SignInRejected(String),
    /// Past a rate limit; try again after `retry_after` seconds.
    #[error("too many attempts; try again in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    /// The organization's identity provider could not be reached.
    #[error("the identity provider is unavailable; try again later")]
    IdpUnavailable(String),
    /// Logged with its cause; clients see only `internal`.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn invalid(e: impl std::fmt::Display) -> Self {
        Error::InvalidRequest(e.to_string())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => {
                Error::Conflict("the data changed while this request ran; try again".into())
            }
            StoreError::NoSeats => Error::NoSeats,
            StoreError::InvalidCursor => Error::InvalidRequest("invalid cursor".into()),
            StoreError::Unavailable(cause) => Error::Internal(cause),
        }
    }
}

impl Error {
    /// The contract's error code (docs/api.md).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidRequest(_) => "invalid_request",
            Error::Unauthenticated | Error::WrongCredentials => "unauthenticated",
            Error::Forbidden => "forbidden",
            Error::SsoRequired | Error::SsoRequiredLink { .. } => "sso_required",
            Error::NotFound => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Expired => "expired",
            Error::NoSeats => "no_seats",
            Error::NotVerified => "not_verified",
            Error::PayloadTooLarge => "payload_too_large",
            Error::Refused(r) => r.code(),
            Error::SignInRejected(_) => "invalid_request",
            Error::RateLimited { .. } => "rate_limited",
            Error::IdpUnavailable(_) => "idp_unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// The HTTP status that goes with [`Error::code`].
    pub fn status(&self) -> u16 {
        match self {
            Error::InvalidRequest(_) => 400,
            Error::Unauthenticated | Error::WrongCredentials => 401,
            Error::Forbidden | Error::SsoRequired | Error::SsoRequiredLink { .. } => 403,
            Error::NotFound => 404,
            Error::Conflict(_) | Error::NoSeats | Error::NotVerified => 409,
            Error::Expired => 410,
            Error::PayloadTooLarge => 413,
            Error::Refused(admit_domain::Refusal::EmailMissing) => 400,
            Error::Refused(_) => 403,
            Error::SignInRejected(_) => 400,
            Error::RateLimited { .. } => 429,
            Error::IdpUnavailable(_) => 502,
            Error::Internal(_) => 500,
        }
    }

    /// What the client is told: never the cause of an internal error.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "something went wrong on our side".into(),
            Error::IdpUnavailable(_) => {
                "the identity provider is unavailable; try again later".into()
            }
            e => e.to_string(),
        }
    }
}

fn refusal_message(r: admit_domain::Refusal) -> &'static str {
    use admit_domain::Refusal::*;
    match r {
        Revoked => "your access to this organization was revoked",
        MembershipRequired => {
            "you are not a member of this organization; ask an administrator for an invitation"
        }
        InviteAcceptanceRequired => "accept the emailed invitation with your master password first",
        ConfirmationRequired => {
            "an administrator must confirm you before you can use single sign-on"
        }
        NoSeats => "the organization has no free seat",
        InvitationRequired => "this organization admits members by invitation only",
        EmailUnverified => "your identity provider did not verify your email address",
        EmailMissing => "your identity provider did not send an email address",
    }
}
