use crate::ApiError;
use crate::error::plain;
use admit_app::{App, Error, Principal};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

/// A JSON body. Anything malformed (syntax, types, unknown fields, wrong
/// content type) is a 400 `invalid_request`; too large is a 413.
///
/// Where `T` reads a struct — the contract shows an object — nothing but a
/// JSON object is taken, at any depth: serde's derived structs would also
/// read an array of their fields in order (`["email", "hash"]` as a login),
/// which the `strict` module below refuses. Arrays stay welcome where `T`
/// asks for a sequence (a `Vec`).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // axum checks the content type, reads the body within the size limit
        // and sorts the errors; only the deserializer it hands over is wrapped.
        match axum::Json::<strict::Body<T>>::from_request(req, state).await {
            Ok(axum::Json(strict::Body(v))) => Ok(Json(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> Response {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is over 64 KiB",
        );
    }
    let message = match &r {
        JsonRejection::MissingJsonContentType(_) => {
            "expected Content-Type: application/json".to_owned()
        }
        JsonRejection::JsonDataError(e) => format!(
            "invalid request: {}",
            e.body_text()
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        ),
        JsonRejection::JsonSyntaxError(_) => "malformed JSON".to_owned(),
        _ => "unreadable request body".to_owned(),
    };
    plain(StatusCode::BAD_REQUEST, "invalid_request", &message)
}

/// The session cookie's name: on https, `__Host-` makes browsers refuse one
/// set by a sibling subdomain or for another path (it needs `Secure`, so plain
/// http — local use — keeps the bare name).
fn session_cookie_name(app: &App) -> &'static str {
    if app.config().public_url.starts_with("https://") {
        "__Host-admit_session"
    } else {
        "admit_session"
    }
}

/// `Set-Cookie` for a browser session: HttpOnly, SameSite=Strict, Secure on https.
pub fn session_cookie(app: &App, token: &str, max_age_secs: i64) -> String {
    let secure = if app.config().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let name = session_cookie_name(app);
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

pub fn clear_session_cookie(app: &App) -> String {
    session_cookie(app, "", 0)
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of cookie `name` in a request's headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A caller with a live session: `Authorization: Bearer <token>`, or the
/// session cookie for browser pages. Otherwise 401.
pub struct Session(pub Principal);

impl FromRequestParts<App> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)
            .or_else(|| cookie(&parts.headers, session_cookie_name(app)))
            .ok_or(ApiError(Error::Unauthenticated))?;
        Ok(Session(app.authenticate(token).await?))
    }
}

/// An optional session (`Option<Session>`): a request that may come from a
/// signed-in account. A missing, unknown or expired one is `None`: the use
/// case then asks for what else proves the caller.
impl OptionalFromRequestParts<App> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &App,
    ) -> Result<Option<Self>, Self::Rejection> {
        let Some(token) =
            bearer(parts).or_else(|| cookie(&parts.headers, session_cookie_name(app)))
        else {
            return Ok(None);
        };
        match app.authenticate(token).await {
            Ok(who) => Ok(Some(Session(who))),
            Err(Error::Unauthenticated) => Ok(None),
            Err(e) => Err(ApiError(e)),
        }
    }
}

/// An operator call: its bearer token is the operator token (checked before
/// the body is read). 404 when the operator API is off, else 401; a client
/// address whose wrong tokens spent its budget gets 429.
pub struct Operator;

impl FromRequestParts<App> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let client = parts.extensions.get::<crate::ClientIp>().map(|c| c.0);
        app.for_client(client)
            .authorize_operator_from_client(bearer(parts))
            .await?;
        Ok(Operator)
    }
}

/// Objects only where the type reads a struct.
///
/// serde's derived `Deserialize` for a struct calls `deserialize_struct` with
/// a visitor that has both `visit_map` and `visit_seq`, and `serde_json`
/// feeds it whichever the input holds. Nothing in a derive can say "not a
/// sequence", so [`Body`] wraps the deserializer instead: [`Strict`] forwards
/// every call to the one it wraps and wraps whatever that hands back (a
/// visitor, an element or value seed, a seq/map/enum access), so the rule
/// holds at every depth; and where the type asked for a struct, its visitor
/// refuses `visit_seq` with serde's own "invalid type: sequence, expected
/// struct …" error (a data error: 400 `invalid_request`, with its path).
///
/// `deserialize_any` refuses sequences too. Self-describing reads are how
/// serde's internally tagged enums (`Kdf`) read their object, and they would
/// take `[tag, fields…]` as well; no request field takes arbitrary JSON (a
/// `serde_json::Value`, which would be refused an array here). Inside content
/// serde buffers (a tagged enum's fields after its tag, `flatten`,
/// `untagged`) serde no longer calls this deserializer, so request types keep
/// structs out of those.
mod strict {
    use serde::Deserialize;
    use serde::de::{
        self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
        VariantAccess, Visitor,
    };
    use std::fmt;

    /// A request body: `T`, read through [`Strict`].
    pub struct Body<T>(pub T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Body<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            T::deserialize(Strict(d)).map(Body)
        }
    }

    /// A deserializer, seed or access that forwards to the one it wraps.
    struct Strict<X>(X);

    /// A visitor that forwards to the one it wraps; with `object`, it was
    /// asked for a struct and refuses a sequence.
    struct Visit<V> {
        inner: V,
        object: bool,
    }

    impl<V> Visit<V> {
        fn any(inner: V) -> Self {
            Visit {
                inner,
                object: false,
            }
        }

        fn object(inner: V) -> Self {
            Visit {
                inner,
                object: true,
            }
        }
    }

    /// `deserialize_x(args…, visitor)` → the wrapped deserializer's, with a
    /// forwarding visitor.
    macro_rules! forward_deserialize {
        ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
            fn $method<V: Visitor<'de>>(
                self,
                $($arg: $ty,)*
                visitor: V,
            ) -> Result<V::Value, Self::Error> {
                self.0.$method($($arg,)* Visit::any(visitor))
            }
        )*};
    }

    impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
        type Error = D::Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.deserialize_any(Visit::object(visitor))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            self.0
                .deserialize_struct(name, fields, Visit::object(visitor))
        }

        forward_deserialize! {
            deserialize_bool(); deserialize_i8(); deserialize_i16(); deserialize_i32();
            deserialize_i64(); deserialize_i128(); deserialize_u8(); deserialize_u16();
            deserialize_u32(); deserialize_u64(); deserialize_u128(); deserialize_f32();
            deserialize_f64(); deserialize_char(); deserialize_str(); deserialize_string();
            deserialize_bytes(); deserialize_byte_buf(); deserialize_option();
            deserialize_unit(); deserialize_unit_struct(name: &'static str);
            deserialize_newtype_struct(name: &'static str); deserialize_seq();
            deserialize_tuple(len: usize); deserialize_tuple_struct(name: &'static str, len: usize);
            deserialize_map();
            deserialize_enum(name: &'static str, variants: &'static [&'static str]);
            deserialize_identifier(); deserialize_ignored_any();
        }

        fn is_human_readable(&self) -> bool {
            self.0.is_human_readable()
        }
    }

    /// `visit_x(v)` → the wrapped visitor's, for values with nothing inside.
    macro_rules! forward_visit {
        ($($method:ident($ty:ty);)*) => {$(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.inner.$method(v)
            }
        )*};
    }

    impl<'de, V: Visitor<'de>> Visitor<'de> for Visit<V> {
        type Value = V::Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.inner.expecting(f)
        }

        forward_visit! {
            visit_bool(bool); visit_i8(i8); visit_i16(i16); visit_i32(i32); visit_i64(i64);
            visit_i128(i128); visit_u8(u8); visit_u16(u16); visit_u32(u32); visit_u64(u64);
            visit_u128(u128); visit_f32(f32); visit_f64(f64); visit_char(char);
            visit_str(&str); visit_borrowed_str(&'de str); visit_string(String);
            visit_bytes(&[u8]); visit_borrowed_bytes(&'de [u8]); visit_byte_buf(Vec<u8>);
        }

        fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
            self.inner.visit_none()
        }

        fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
            self.inner.visit_unit()
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
            self.inner.visit_some(Strict(d))
        }

        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
            self.inner.visit_newtype_struct(Strict(d))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
            if self.object {
                return Err(de::Error::invalid_type(Unexpected::Seq, &self));
            }
            self.inner.visit_seq(Strict(seq))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
            self.inner.visit_map(Strict(map))
        }

        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
            self.inner.visit_enum(Strict(data))
        }
    }

    impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Strict<S> {
        type Value = S::Value;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
            self.0.deserialize(Strict(d))
        }
    }

    impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Strict<A> {
        type Error = A::Error;

        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, A::Error> {
            self.0.next_element_seed(Strict(seed))
        }

        fn size_hint(&self) -> Option<usize> {
            self.0.size_hint()
        }
    }

    impl<'de, A: MapAccess<'de>> MapAccess<'de> for Strict<A> {
        type Error = A::Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, A::Error> {
            self.0.next_key_seed(Strict(seed))
        }

        fn next_value_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<T::Value, A::Error> {
            self.0.next_value_seed(Strict(seed))
        }

        fn size_hint(&self) -> Option<usize> {
            self.0.size_hint()
        }
    }

    impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Strict<A> {
        type Error = A::Error;
        type Variant = Strict<A::Variant>;

        fn variant_seed<T: DeserializeSeed<'de>>(
            self,
            seed: T,
        ) -> Result<(T::Value, Self::Variant), A::Error> {
            let (value, variant) = self.0.variant_seed(Strict(seed))?;
            Ok((value, Strict(variant)))
        }
    }

    impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Strict<A> {
        type Error = A::Error;

        fn unit_variant(self) -> Result<(), A::Error> {
            self.0.unit_variant()
        }

        fn newtype_variant_seed<T: DeserializeSeed<'de>>(
            self,
            seed: T,
        ) -> Result<T::Value, A::Error> {
            self.0.newtype_variant_seed(Strict(seed))
        }

        fn tuple_variant<V: Visitor<'de>>(
            self,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, A::Error> {
            self.0.tuple_variant(len, Visit::any(visitor))
        }

        fn struct_variant<V: Visitor<'de>>(
            self,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, A::Error> {
            self.0.struct_variant(fields, Visit::object(visitor))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        tags: Vec<String>,
        #[serde(default)]
        seats: Option<Inner>,
        #[serde(default)]
        items: Vec<Inner>,
        #[serde(default)]
        kdf: Option<Tagged>,
        #[serde(default)]
        role: Option<Role>,
        #[serde(default)]
        id: Option<Id>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        limit: u32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
    enum Tagged {
        Pbkdf2 { iterations: u32 },
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Role {
        User,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Id(String);

    fn request(content_type: &str, body: &str) -> Request {
        Request::builder()
            .method("POST")
            .uri("/")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .unwrap()
    }

    /// `Json<T>`'s answer: the value, or the refusal's status and body.
    async fn extract<T: DeserializeOwned>(
        content_type: &str,
        body: &str,
    ) -> Result<T, (StatusCode, serde_json::Value)> {
        match Json::<T>::from_request(request(content_type, body), &()).await {
            Ok(Json(v)) => Ok(v),
            Err(r) => {
                let status = r.status();
                let bytes = to_bytes(r.into_body(), usize::MAX).await.unwrap();
                Err((status, serde_json::from_slice(&bytes).unwrap()))
            }
        }
    }

    /// What the refusal would have been with axum's extractor and no wrapping.
    async fn plain_refusal<T: DeserializeOwned>(
        content_type: &str,
        body: &str,
    ) -> (StatusCode, serde_json::Value) {
        let r = match axum::Json::<T>::from_request(request(content_type, body), &()).await {
            Ok(_) => panic!("axum takes {body}"),
            Err(rejection) => json_rejection(rejection),
        };
        let status = r.status();
        let bytes = to_bytes(r.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    const FULL: &str = r#"{"name": "n", "tags": ["a", "b"], "seats": {"limit": 3},
        "items": [{"limit": 1}, {"limit": 2}], "kdf": {"type": "pbkdf2", "iterations": 9},
        "role": "user", "id": "x"}"#;

    #[tokio::test]
    async fn objects_and_arrays_are_read_where_the_type_shows_them() {
        let got: Outer = extract("application/json", FULL).await.unwrap();
        assert_eq!(
            got,
            Outer {
                name: "n".into(),
                tags: vec!["a".into(), "b".into()],
                seats: Some(Inner { limit: 3 }),
                items: vec![Inner { limit: 1 }, Inner { limit: 2 }],
                kdf: Some(Tagged::Pbkdf2 { iterations: 9 }),
                role: Some(Role::User),
                id: Some(Id("x".into())),
            }
        );
        let minimal: Outer = extract(
            "application/json",
            r#"{"name": "n", "tags": [], "seats": null}"#,
        )
        .await
        .unwrap();
        assert_eq!(minimal.seats, None);
        // Arrays are fine where the type is a sequence, even at the top.
        let list: Vec<Inner> = extract("application/json", r#"[{"limit": 1}]"#)
            .await
            .unwrap();
        assert_eq!(list, vec![Inner { limit: 1 }]);
    }

    #[tokio::test]
    async fn an_array_in_place_of_an_object_is_refused_at_any_depth() {
        for body in [
            r#"["n", ["a"]]"#,
            r#"{"name": "n", "tags": [], "seats": [3]}"#,
            r#"{"name": "n", "tags": [], "items": [{"limit": 1}, [2]]}"#,
            r#"{"name": "n", "tags": [], "kdf": ["pbkdf2", 9]}"#,
            r#"{"name": "n", "tags": [], "kdf": {"type": "pbkdf2", "iterations": [9]}}"#,
        ] {
            let (status, body_json) = extract::<Outer>("application/json", body)
                .await
                .expect_err(body);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body_json["error"], "invalid_request", "{body}");
            let message = body_json["message"].as_str().unwrap();
            assert!(message.starts_with("invalid request: "), "{message}");
        }
        let (_, refused) = extract::<Outer>(
            "application/json",
            r#"{"name": "n", "tags": [], "seats": [3]}"#,
        )
        .await
        .unwrap_err();
        let message = refused["message"].as_str().unwrap();
        assert!(
            message.starts_with(
                "invalid request: seats: invalid type: sequence, expected struct Inner"
            ),
            "{message}"
        );
        let (_, refused) = extract::<Outer>("application/json", r#"["n", ["a"]]"#)
            .await
            .unwrap_err();
        let message = refused["message"].as_str().unwrap();
        assert!(
            message.contains("invalid type: sequence, expected struct Outer"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn other_refusals_read_as_before() {
        for (content_type, body) in [
            ("application/json", "\"n\""),
            ("application/json", "5"),
            ("application/json", "null"),
            ("application/json", "true"),
            ("application/json", "{\"name\": "),
            ("application/json", "{} {}"),
            ("application/json", "{\"name\": \"n\"}"),
            ("application/json", "{\"name\": 5, \"tags\": []}"),
            (
                "application/json",
                "{\"name\": \"n\", \"tags\": [], \"extra\": 1}",
            ),
            (
                "application/json",
                "{\"name\": \"n\", \"tags\": [], \"role\": \"boss\"}",
            ),
            (
                "application/json",
                "{\"name\": \"n\", \"tags\": [], \"seats\": {\"limit\": -1}}",
            ),
            ("text/plain", FULL),
        ] {
            let got = extract::<Outer>(content_type, body).await.expect_err(body);
            assert_eq!(
                got,
                plain_refusal::<Outer>(content_type, body).await,
                "{body}"
            );
            assert_eq!(got.0, StatusCode::BAD_REQUEST, "{body}");
        }
    }
}
