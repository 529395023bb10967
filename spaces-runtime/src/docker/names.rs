//! Engine object names derived from Space ids: image tags, container names, volume names, labels.
//!
//! A Space id allows upper case and `_`/`.`/`-` runs that Docker references refuse, so each part
//! is lower-cased with every other character turned into `-`; when that changed anything, a short
//! hash of the exact id is appended, so two Spaces never share a name. The names are deterministic:
//! the volume of a Space is found again after a restart of the runtime.

use spaces_core::{Revision, SpaceId};

/// Label put on everything the backend creates.
pub const LABEL_MANAGED: &str = "io.spaces.managed";
/// Label holding the Space id (`owner/name`).
pub const LABEL_SPACE: &str = "io.spaces.space";
/// Label holding the revision.
pub const LABEL_REVISION: &str = "io.spaces.revision";

/// Label of a standby container (created ahead of a wake; see the module docs of `docker`).
pub const LABEL_STANDBY: &str = "io.spaces.standby";

/// FNV-1a, 64 bits: a stable hash for name suffixes (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One Docker path component: `[a-z0-9]+(-+[a-z0-9]+)*`, never empty.
pub(crate) fn component(part: &str) -> String {
    let mapped: String = part
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    if trimmed.is_empty() {
        "x".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The Space's parts as Docker-safe components, disambiguated by a hash when they were changed.
fn space_parts(space: &SpaceId) -> (String, String) {
    let (owner, name) = (component(space.owner()), component(space.name()));
    if owner == space.owner() && name == space.name() {
        (owner, name)
    } else {
        let hash = fnv1a(space.as_str().as_bytes());
        (owner, format!("{name}-{:08x}", hash & 0xffff_ffff))
    }
}

/// The image tag of a Space's revision: `<prefix>/<owner>/<name>:<revision>`.
pub(crate) fn image_tag(prefix: &str, space: &SpaceId, revision: &Revision) -> String {
    let (owner, name) = space_parts(space);
    format!(
        "{prefix}/{owner}/{name}:{}",
        revision.as_str().to_ascii_lowercase()
    )
}

/// The persistent volume of a Space: `<prefix>-data-<owner>-<name>`.
pub(crate) fn volume_name(prefix: &str, space: &SpaceId) -> String {
    let (owner, name) = space_parts(space);
    format!("{prefix}-data-{owner}-{name}")
}

/// A container name for a new instance: `<prefix>-<owner>-<name>-<revision>-<unique>`.
pub(crate) fn container_name(
    prefix: &str,
    space: &SpaceId,
    revision: &Revision,
    unique: &str,
) -> String {
    let (owner, name) = space_parts(space);
    format!(
        "{prefix}-{owner}-{name}-{}-{unique}",
        revision.short().to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_component(s: &str) -> bool {
        !s.is_empty()
            && s.split('-').filter(|p| !p.is_empty()).all(|p| {
                p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
            && !s.starts_with('-')
            && !s.ends_with('-')
    }

    #[test]
    fn names_are_valid_docker_references() {
        let rev = Revision::new("C0FFEE12").unwrap();
        for id in ["alice/i-like-flan", "Alice/My_App.v2", "_x/y_", "a/b"] {
            let space: SpaceId = id.parse().unwrap();
            let tag = image_tag("spaces", &space, &rev);
            let (repo, tag_part) = tag.rsplit_once(':').unwrap();
            assert!(repo.split('/').all(valid_component), "{tag}");
            assert_eq!(tag_part, "c0ffee12");
            assert!(valid_component(&volume_name("spaces", &space)), "{id}");
        }
    }

    #[test]
    fn changed_ids_get_a_distinguishing_hash() {
        let a: SpaceId = "alice/My.App".parse().unwrap();
        let b: SpaceId = "alice/my-app".parse().unwrap();
        assert_ne!(volume_name("spaces", &a), volume_name("spaces", &b));
        assert_eq!(volume_name("spaces", &b), "spaces-data-alice-my-app");
        assert_eq!(volume_name("spaces", &a), volume_name("spaces", &a));
    }
}
