//! Test harness shared by the black-box tests and the adapters' tests:
//! real servers started on free loopback ports and stopped afterwards.

pub mod evil;
pub mod moto;
mod node;
pub mod oidc;
pub mod saml;
pub mod wire;
