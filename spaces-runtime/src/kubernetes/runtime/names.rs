//! Kubernetes object names, labels and annotations derived from Space ids.
//!
//! Kubernetes names are DNS-1123 labels (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63
//! characters), and so are the label values naming a Space. A Space's **key** is:
//!
//! - readable, `<n>-<owner>-<name>`, where `<owner>` and `<name>` are escaped as in
//!   [`crate::docker::names::escape`] (`A` → `0a`, `_` → `01`, `.` → `02`, `0` → `00`) and `<n>`
//!   is the length of the escaped owner: the length prefix makes the key injective although
//!   `-` may occur inside the parts. `alice/i-like-flan` → `5-alice-i-like-flan`.
//! - hashed, `x<32 hex digits>` (the first 128 bits of SHA-256 of the id), when the readable key
//!   is longer than [`KEY_MAX`] or ends with `-`. A readable key starts with a digit, a hashed one
//!   with `x`: the two forms never meet. A hash is not injective in theory, so every object
//!   also carries the full id in the [`ANNOTATION_SPACE_ID`] annotation, and the runtime refuses
//!   (with [`Error::Conflict`](crate::Error::Conflict)) an object whose annotation names another
//!   Space: two tenants never share a Deployment, Secret or claim, even then.
//!
//! Objects: Deployment `<prefix>-<key>-<slot>` (`slot` = 0, 1, ...: concurrent instances of one
//! Space), its Secret `<deployment>-env`, the claim `<prefix>-<key>-data`. The slot is the last
//! `-`-separated field and only holds digits, so a Deployment name splits back uniquely.

use sha2::{Digest, Sha256};
use spaces_core::SpaceId;

/// Label on everything the backend creates; its value is the runtime's prefix.
pub const LABEL_MANAGED: &str = "spaces.io/managed";
/// Label holding the Space's key (see the [module docs](self)).
pub const LABEL_SPACE: &str = "spaces.io/space";
/// Label of a Deployment's pods (and its selector): the Deployment's name.
pub const LABEL_DEPLOYMENT: &str = "spaces.io/deployment";
/// Annotation holding the full Space id (`owner/name`).
pub const ANNOTATION_SPACE_ID: &str = "spaces.io/space-id";
/// Annotation of a Deployment: the instance it runs now (a nonce; see `InstanceId`).
pub const ANNOTATION_INSTANCE: &str = "spaces.io/instance";
/// Annotation of a Deployment: the host port it was given (host network only).
pub const ANNOTATION_HOST_PORT: &str = "spaces.io/host-port";
/// Annotation of a Deployment: the app's port (as given in the spec).
pub const ANNOTATION_APP_PORT: &str = "spaces.io/app-port";

/// The longest a Space key may be (a label value is at most 63; the Deployment name adds the
/// prefix and the slot).
pub const KEY_MAX: usize = 40;

/// The longest prefix: `<prefix>-<key>-data` (and `<prefix>-<key>-<slot>` with up to 3-digit
/// slots) stay within 63.
pub const PREFIX_MAX: usize = 63 - KEY_MAX - "--data".len();

/// A Space's key (see the [module docs](self)).
pub fn space_key(space: &SpaceId) -> String {
    let owner = crate::docker::names::escape(space.owner());
    let name = crate::docker::names::escape(space.name());
    let readable = format!("{}-{owner}-{name}", owner.len());
    if readable.len() <= KEY_MAX && !readable.ends_with('-') {
        return readable;
    }
    let digest = Sha256::digest(space.as_str().as_bytes());
    let mut out = String::from("x");
    for b in digest.iter().take(16) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The configured prefix as a DNS label fragment (lower-case letters, digits, inner `-`), cut to
/// [`PREFIX_MAX`].
pub fn prefix(configured: &str) -> String {
    let mut p = crate::docker::names::component(configured);
    p.truncate(PREFIX_MAX);
    let p = p.trim_end_matches('-').to_owned();
    if p.is_empty() {
        "x".into()
    } else {
        p
    }
}

/// The Deployment of slot `slot` of a Space.
pub fn deployment(prefix: &str, space: &SpaceId, slot: u32) -> String {
    format!("{prefix}-{}-{slot}", space_key(space))
}

/// The Secret holding a Deployment's environment.
pub fn secret(deployment: &str) -> String {
    format!("{deployment}-env")
}

/// The claim of a Space's persistent storage.
pub fn claim(prefix: &str, space: &SpaceId) -> String {
    format!("{prefix}-{}-data", space_key(space))
}

/// An instance id: `<deployment>:<nonce>`.
pub fn instance_id(deployment: &str, nonce: &str) -> String {
    format!("{deployment}:{nonce}")
}

/// Splits an instance id into its Deployment and nonce.
pub fn split_instance(id: &str) -> Option<(&str, &str)> {
    let (d, n) = id.split_once(':')?;
    (!d.is_empty() && !n.is_empty()).then_some((d, n))
}

/// Whether `name` is a DNS-1123 label.
pub fn is_dns_label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(s: &str) -> SpaceId {
        s.parse().unwrap()
    }

    #[test]
    fn readable_keys() {
        assert_eq!(space_key(&id("alice/i-like-flan")), "5-alice-i-like-flan");
        assert_eq!(space_key(&id("Alice/My_App.v2")), "6-0alice-0my010app02v2");
        assert_ne!(space_key(&id("ab/c-d")), space_key(&id("ab-c/d")));
        let long = format!("alice/{}", "n".repeat(60));
        let key = space_key(&id(&long));
        assert_eq!(key.len(), 33);
        assert!(is_dns_label(&deployment(
            &prefix("spaces-test-123"),
            &id(&long),
            999
        )));
        assert_eq!(split_instance("a-b-0:x1"), Some(("a-b-0", "x1")));
        assert_eq!(split_instance("nonce-less"), None);
    }

    proptest! {
        #[test]
        fn names_are_dns_labels_and_distinct(
            a in "[A-Za-z0-9_.-]{1,40}", b in "[A-Za-z0-9_.-]{1,40}",
            c in "[A-Za-z0-9_.-]{1,40}", d in "[A-Za-z0-9_.-]{1,40}",
        ) {
            let (Ok(x), Ok(y)) = (SpaceId::from_parts(&a, &b), SpaceId::from_parts(&c, &d)) else {
                return Ok(());
            };
            let p = prefix("Spaces_Test-Prefix-That-Is-Long");
            for name in [deployment(&p, &x, 0), deployment(&p, &x, 999), claim(&p, &x)] {
                prop_assert!(is_dns_label(&name), "{name}");
            }
            // A Secret's name is a DNS subdomain (up to 253 characters).
            let s = secret(&deployment(&p, &x, 999));
            prop_assert!(s.len() <= 253 && s.strip_suffix("-env").is_some_and(is_dns_label), "{s}");
            prop_assert!(is_dns_label(&space_key(&x)));
            if x != y {
                prop_assert_ne!(space_key(&x), space_key(&y));
            }
        }
    }
}
