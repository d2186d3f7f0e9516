//! OpenID Connect for Admit, with the `openidconnect` crate: discovery
//! (cached for a bounded time), the authorization code flow with PKCE S256,
//! `state` and nonce, ID token verification pinned to the organization's
//! algorithm, and UserInfo for the same subject. The HTTP client follows no
//! redirects. An ID token signed with a key id the cached key set does not
//! know makes the key set be fetched again, once (key rotation).
//!
//! Nothing it connects to may be inside ([`outbound`]): each request's URL,
//! each endpoint discovery names and each address a host name resolves to is
//! checked before connecting; a refusal fails the sign-in as a rejected IdP
//! response. It trusts the platform's roots plus [`ClientOptions::ca_file`].
//!
//! The member's groups come from the claim the organization names
//! ([`OidcConfig::groups_claim`]), in the ID token or else at UserInfo; an
//! overage reference (Entra ID's `_claim_names`) is not followed.

pub mod outbound;

pub use admit_domain::sso_config::Reach;
pub use outbound::{ClientError, ClientOptions, Refusal};

use admit_app::{AuthorizationRequest, Oidc, OidcError};
use admit_domain::{Email, ExternalId, IdpIdentity, OidcConfig, SigningAlgorithm};
use async_trait::async_trait;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, SubjectIdentifier,
    TokenResponse,
};
use outbound::{Guarded, chain, check_endpoints, refusal};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long discovered provider metadata (and its keys) is reused.
pub const METADATA_LIFETIME: Duration = Duration::from_secs(600);

pub struct OpenIdConnect {
    http: Guarded,
    cache: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

fn unavailable(e: impl std::fmt::Display) -> OidcError {
    OidcError::Unavailable(e.to_string())
}

fn rejected(e: impl std::fmt::Display) -> OidcError {
    OidcError::Rejected(e.to_string())
}

/// A failed request: rejected when the outbound rules refused it (the IdP
/// named a place inside), unavailable otherwise.
fn request_failed(what: &str, e: &(dyn std::error::Error + 'static)) -> OidcError {
    match refusal(e) {
        Some(r) => rejected(format!("{what}: refused before connecting: {r}")),
        None => unavailable(format!("{what}: {}", chain(e))),
    }
}

fn algorithm(a: SigningAlgorithm) -> CoreJwsSigningAlgorithm {
    use CoreJwsSigningAlgorithm as C;
    match a {
        SigningAlgorithm::RS256 => C::RsaSsaPkcs1V15Sha256,
        SigningAlgorithm::RS384 => C::RsaSsaPkcs1V15Sha384,
        SigningAlgorithm::RS512 => C::RsaSsaPkcs1V15Sha512,
        SigningAlgorithm::PS256 => C::RsaSsaPssSha256,
        SigningAlgorithm::PS384 => C::RsaSsaPssSha384,
        SigningAlgorithm::PS512 => C::RsaSsaPssSha512,
    }
}

impl OpenIdConnect {
    /// A client for public IdPs, trusting the platform's roots
    /// ([`ClientOptions::default`]).
    pub fn new() -> Result<Self, ClientError> {
        Self::with_options(&ClientOptions::default())
    }

    /// A client reaching what `options.reach` allows, trusting the
    /// platform's roots plus `options.ca_file`.
    pub fn with_options(options: &ClientOptions) -> Result<Self, ClientError> {
        Self::with_resolver(options, Arc::new(outbound::SystemResolver))
    }

    fn with_resolver(
        options: &ClientOptions,
        resolver: Arc<dyn reqwest::dns::Resolve>,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            http: Guarded {
                inner: outbound::http_client(options, resolver)?,
                reach: options.reach,
            },
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The issuer's metadata and keys: cached, or discovered when `fresh`.
    async fn metadata(&self, issuer: &str, fresh: bool) -> Result<CoreProviderMetadata, OidcError> {
        if !fresh {
            let cache = self.cache.lock().expect("cache lock");
            if let Some((at, m)) = cache
                .get(issuer)
                .filter(|(at, _)| at.elapsed() < METADATA_LIFETIME)
            {
                tracing::debug!(age = ?at.elapsed(), "provider metadata from cache");
                return Ok(m.clone());
            }
        }
        let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(rejected)?;
        let m = CoreProviderMetadata::discover_async(issuer_url, &self.http)
            .await
            .map_err(|e| request_failed("discovery", &e))?;
        // Before the document is used or cached: none of its endpoints may be inside.
        check_endpoints(&m, self.http.reach).map_err(rejected)?;
        self.cache
            .lock()
            .expect("cache lock")
            .insert(issuer.to_owned(), (Instant::now(), m.clone()));
        Ok(m)
    }

    async fn client(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        fresh: bool,
    ) -> Result<ClientWithMetadata, OidcError> {
        let metadata = self.metadata(&config.issuer, fresh).await?;
        let client = Client::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            // In clear only for a token request (`identify`); the
            // authorization request sends none.
            config
                .client_secret
                .clear()
                .map(|s| ClientSecret::new(s.to_owned())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(rejected)?);
        Ok(ClientWithMetadata(client))
    }
}

/// The claims of an ID token or a UserInfo answer beyond the standard ones,
/// kept whole: the groups claim is named by each organization, so no fixed
/// struct can hold it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct OtherClaims(Map<String, Value>);

impl AdditionalClaims for OtherClaims {}

/// `CoreIdTokenFields` with [`OtherClaims`].
type IdTokenFields = openidconnect::IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// `CoreTokenResponse` with [`OtherClaims`] in its ID token.
type TokenResponseWithClaims = StandardTokenResponse<IdTokenFields, CoreTokenType>;

/// `CoreUserInfoClaims` with [`OtherClaims`].
type UserInfoClaims = openidconnect::UserInfoClaims<OtherClaims, CoreGenderClaim>;

/// `CoreClient` with [`OtherClaims`], as built from provider metadata: an
/// authorization and a token endpoint, maybe UserInfo.
type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponseWithClaims,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct ClientWithMetadata(Client);

#[async_trait]
impl Oidc for OpenIdConnect {
    async fn authorization_request(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        state: &str,
    ) -> Result<AuthorizationRequest, OidcError> {
        let ClientWithMetadata(client) = self.client(config, redirect_uri, false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = state.to_owned();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, nonce) = request.url();
        Ok(AuthorizationRequest {
            url: url.to_string(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    async fn identify(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<IdpIdentity, OidcError> {
        if config.client_secret.clear().is_none() {
            return Err(unavailable(
                "the client secret was not opened for the token request",
            ));
        }
        let ClientWithMetadata(client) = self.client(config, redirect_uri, false).await?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(unavailable)?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| rejected(format!("token request: {}", chain(&e))))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| rejected("no id_token in the token response"))?;
        let nonce = Nonce::new(nonce.to_owned());
        let alg = algorithm(config.signing_algorithm);
        let verify = |client: &Client| {
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(vec![alg.clone()]);
            id_token.claims(&verifier, &nonce).cloned()
        };
        let (client, claims) = match verify(&client) {
            Ok(claims) => (client, claims),
            // A key id we don't know: the IdP may have rotated its keys. Fetch them again, once.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                tracing::info!(issuer = %config.issuer, "unknown signing key; fetching the key set again");
                let ClientWithMetadata(fresh) = self.client(config, redirect_uri, true).await?;
                let claims = verify(&fresh).map_err(|e| rejected(format!("id token: {e}")))?;
                (fresh, claims)
            }
            Err(e) => return Err(rejected(format!("id token: {e}"))),
        };
        let subject: SubjectIdentifier = claims.subject().clone();
        let external_id = ExternalId::parse(subject.as_str()).map_err(rejected)?;
        let mut email = claims.email().map(|e| e.as_str().to_owned());
        let mut email_verified = claims.email_verified();

        let mut userinfo = None;
        if client.user_info_url().is_some() {
            let access: AccessToken = token.access_token().clone();
            let info: UserInfoClaims = client
                .user_info(access, Some(subject.clone()))
                .map_err(unavailable)?
                .request_async(&self.http)
                .await
                .map_err(|e| rejected(format!("userinfo: {}", chain(&e))))?;
            if email.is_none() {
                email = info.email().map(|e| e.as_str().to_owned());
                email_verified = info.email_verified();
            } else if email_verified.is_none()
                && info.email().map(|e| e.as_str()) == email.as_deref()
            {
                email_verified = info.email_verified();
            }
            userinfo = Some(info);
        }
        let groups = config.groups_claim.as_deref().and_then(|claim| {
            groups_from(
                &claims.additional_claims().0,
                userinfo.as_ref().map(|info| &info.additional_claims().0),
                claim,
            )
        });
        Ok(IdpIdentity {
            external_id,
            email: email.and_then(|e| Email::parse(&e).ok()),
            email_verified: email_verified == Some(true),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            groups,
        })
    }
}

/// The member's groups as the claim `claim` says them, from the verified ID
/// token's other claims or, when the claim is not there, from UserInfo's
/// (for the same subject): an array of names (other values are dropped) or a
/// single name.
///
/// A claim absent from both means no groups (`Some` of none: Okta leaves the
/// claim out when its filter matches no group), unless the IdP says it left
/// the groups out because there were too many (Entra ID's overage:
/// `_claim_names` naming the claim, or `hasgroups: true`): Admit does not
/// follow the reference to Microsoft Graph, so `None` keeps the groups it
/// has. A claim of any other type cannot say the groups either: `None`.
fn groups_from(
    id_token: &Map<String, Value>,
    userinfo: Option<&Map<String, Value>>,
    claim: &str,
) -> Option<Vec<String>> {
    let sources = || std::iter::once(id_token).chain(userinfo);
    let Some(value) = sources().find_map(|s| s.get(claim).filter(|v| !v.is_null())) else {
        let overage = sources().any(|s| {
            s.get("_claim_names")
                .and_then(Value::as_object)
                .is_some_and(|names| names.contains_key(claim))
                || s.get("hasgroups") == Some(&Value::Bool(true))
        });
        if overage {
            tracing::warn!(
                claim,
                "the IdP sent a groups overage reference instead of the groups claim, which \
                 Admit does not follow: the member's groups are left as they were (configure \
                 the application at the IdP to emit only the groups assigned to it)"
            );
            return None;
        }
        return Some(Vec::new());
    };
    let (values, not_names): (Vec<&str>, usize) = match value {
        Value::String(one) => (vec![one.as_str()], 0),
        Value::Array(many) => {
            let names: Vec<&str> = many.iter().filter_map(Value::as_str).collect();
            let others = many.len() - names.len();
            (names, others)
        }
        _ => {
            tracing::warn!(
                claim,
                "the groups claim is neither a list of names nor a name: the member's groups \
                 are left as they were"
            );
            return None;
        }
    };
    let (groups, dropped) = admit_domain::idp_groups(values);
    if dropped + not_names > 0 {
        tracing::warn!(
            claim,
            kept = groups.len(),
            dropped = dropped + not_names,
            "some values of the groups claim were not kept (not a name, empty, too long, \
             with a control character, or over the limit)"
        );
    }
    Some(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    fn groups(id_token: Value, userinfo: Option<Value>) -> Option<Vec<String>> {
        groups_from(&map(id_token), userinfo.map(map).as_ref(), "groups")
    }

    fn names(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn okta_sends_an_array_of_group_names() {
        let okta = json!({"groups": ["Everyone", "Engineering", " Admins ", "Engineering"]});
        assert_eq!(
            groups(okta, None),
            names(&["Admins", "Engineering", "Everyone"]),
            "trimmed, without repeats, sorted"
        );
        // Okta leaves the claim out when its filter matches no group.
        assert_eq!(groups(json!({"email": "a@corp.test"}), None), names(&[]));
        assert_eq!(groups(json!({"groups": []}), None), names(&[]));
    }

    #[test]
    fn entra_sends_object_ids() {
        let entra = json!({"groups": [
            "8a2e5b7c-1f4d-4a3b-9c6e-0d1f2a3b4c5d",
            "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
        ]});
        assert_eq!(
            groups(entra, None),
            names(&[
                "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
                "8a2e5b7c-1f4d-4a3b-9c6e-0d1f2a3b4c5d",
            ])
        );
    }

    #[test]
    fn an_overage_reference_leaves_the_groups_as_they_were() {
        let overage = json!({
            "_claim_names": {"groups": "src1"},
            "_claim_sources": {"src1": {
                "endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"
            }},
        });
        assert_eq!(groups(overage.clone(), None), None);
        // Named for another claim: this one is simply absent.
        assert_eq!(
            groups_from(&map(overage), None, "roles"),
            names(&[]),
            "the reference is for `groups`, not `roles`"
        );
        // The implicit flow's variant.
        assert_eq!(groups(json!({"hasgroups": true}), None), None);
        assert_eq!(groups(json!({"hasgroups": false}), None), names(&[]));
        // A claim that is there wins over a reference.
        let both = json!({"groups": ["a"], "_claim_names": {"groups": "src1"}});
        assert_eq!(groups(both, None), names(&["a"]));
        // A reference at UserInfo counts too.
        let at_userinfo = json!({"_claim_names": {"groups": "src1"}});
        assert_eq!(groups(json!({}), Some(at_userinfo)), None);
    }

    #[test]
    fn keycloak_sends_full_paths() {
        let keycloak = json!({"groups": ["/engineering/backend", "/engineering", "/ops"]});
        assert_eq!(
            groups(keycloak, None),
            names(&["/engineering", "/engineering/backend", "/ops"])
        );
    }

    #[test]
    fn a_single_string_is_one_group() {
        assert_eq!(groups(json!({"groups": "staff"}), None), names(&["staff"]));
        assert_eq!(groups(json!({"groups": "  "}), None), names(&[]));
    }

    #[test]
    fn values_that_are_not_names_are_dropped() {
        let mixed = json!({"groups": ["staff", 7, null, {"id": "x"}, ["nested"], true, ""]});
        assert_eq!(groups(mixed, None), names(&["staff"]));
        // A claim that is neither a list nor a name cannot say the groups.
        assert_eq!(groups(json!({"groups": 7}), None), None);
        assert_eq!(groups(json!({"groups": {"a": 1}}), None), None);
        // `null` is no claim.
        assert_eq!(groups(json!({"groups": null}), None), names(&[]));
    }

    #[test]
    fn the_id_token_comes_first_then_userinfo() {
        let userinfo = json!({"groups": ["from-userinfo"]});
        assert_eq!(
            groups(json!({}), Some(userinfo.clone())),
            names(&["from-userinfo"])
        );
        assert_eq!(
            groups(json!({"groups": ["from-token"]}), Some(userinfo)),
            names(&["from-token"])
        );
        assert_eq!(groups(json!({}), Some(json!({}))), names(&[]));
    }

    #[test]
    fn the_claim_name_is_the_organizations() {
        let claims = json!({"groups": ["a"], "memberOf": ["cn=b,ou=groups"]});
        assert_eq!(
            groups_from(&map(claims), None, "memberOf"),
            names(&["cn=b,ou=groups"])
        );
    }

    #[test]
    fn at_most_the_limit_is_kept() {
        let many: Vec<String> = (0..admit_domain::MAX_IDP_GROUPS + 5)
            .map(|i| format!("g{i:04}"))
            .collect();
        let kept = groups(json!({ "groups": many }), None).unwrap();
        assert_eq!(kept.len(), admit_domain::MAX_IDP_GROUPS);
    }

    /// The other claims really reach [`OtherClaims`] through openidconnect's
    /// own parsing, of an ID token's claims and of a UserInfo answer.
    #[test]
    fn openidconnect_hands_over_the_other_claims() {
        let claims = json!({
            "iss": "https://idp.test",
            "aud": "admit",
            "exp": 1_900_000_000,
            "iat": 1_800_000_000,
            "sub": "s-1",
            "email": "a@corp.test",
            "name": "Ann",
            "groups": ["x", "y"],
            "_claim_names": {"roles": "src1"},
        });
        let id_token: openidconnect::IdTokenClaims<OtherClaims, CoreGenderClaim> =
            serde_json::from_value(claims.clone()).unwrap();
        let info = UserInfoClaims::from_json::<std::convert::Infallible>(
            claims.to_string().as_bytes(),
            Some(&SubjectIdentifier::new("s-1".into())),
        )
        .unwrap();
        for (other, email) in [
            (&id_token.additional_claims().0, id_token.email()),
            (&info.additional_claims().0, info.email()),
        ] {
            assert_eq!(other.get("groups"), Some(&json!(["x", "y"])));
            assert!(other.contains_key("_claim_names"));
            assert!(
                !other.contains_key("email"),
                "standard claims stay standard"
            );
            assert_eq!(email.map(|e| e.as_str()), Some("a@corp.test"));
        }
        assert_eq!(
            groups_from(&id_token.additional_claims().0, None, "groups"),
            names(&["x", "y"])
        );
    }
}
