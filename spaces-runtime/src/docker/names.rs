//! Engine object names derived from Space ids: image tags, container names, volume names, labels.
//!
//! Every name is **injective** in the Space id (two different Spaces never share a volume, an
//! image repository or a container name, whatever their case or punctuation) and
//! **deterministic** (a Space's volume is found again after a restart of the runtime).
//!
//! A Space id part (`[A-Za-z0-9_.-]`, case-sensitive) is escaped into a Docker path component
//! (`[a-z0-9]+(-[a-z0-9]+)*`) by a prefix-free code, so the escaping is reversible:
//!
//! | in the id | in the name |
//! |---|---|
//! | `a`–`z`, `1`–`9`, `-` | itself |
//! | `0` | `00` |
//! | `A`–`Z` | `0a`–`0z` |
//! | `_` | `01` |
//! | `.` | `02` |
//!
//! `alice/i-like-flan` stays readable (`alice`, `i-like-flan`); `Alice/My_App.v2` becomes
//! `0alice`, `0my010app02v2`. The two parts are then joined with a separator that no escaped part
//! contains (`/` in image repositories, `_` in container and volume names), after the runtime's
//! prefix, which contains neither (it is a path component itself):
//!
//! - image: `<prefix>/<owner>/<name>:<revision>`;
//! - volume: `<prefix>_data_<owner>_<name>`;
//! - container: `<prefix>_<owner>_<name>_<short revision>_<unique>`.
//!
//! Docker limits image repositories and volume names to 255 characters, and escaping can double
//! an id's length (two 96-character parts). When the escaped parts together exceed
//! [`READABLE_MAX`] characters, the whole id is written instead as one base-36 number
//! ([`compact`], at most [`COMPACT_MAX`] characters) in place of `<owner>` and `<name>`: one
//! field instead of two, so a compact name never equals a readable one. With a prefix of up to
//! [`PREFIX_ALWAYS_FITS`] characters every valid Space id fits; a longer prefix can make a name
//! too long for the engine for very long ids, which is then an [`Error::Unsupported`] naming the
//! Space (never a truncated, shared name).

use spaces_core::{Revision, SpaceId};

use crate::Error;

/// Label put on everything the backend creates; its value is the runtime's prefix.
pub const LABEL_MANAGED: &str = "io.spaces.managed";
/// Label holding the Space id (`owner/name`).
pub const LABEL_SPACE: &str = "io.spaces.space";
/// Label holding the revision.
pub const LABEL_REVISION: &str = "io.spaces.revision";
/// Label of every container made to run an app (an instance or a standby), holding its app
/// port: build containers and images never carry it.
pub const LABEL_APP_PORT: &str = "io.spaces.app-port";
/// Label of a standby container (created ahead of a wake; see the module docs of `docker`).
pub const LABEL_STANDBY: &str = "io.spaces.standby";

/// The longest the two escaped parts may be together before the compact form is used.
pub const READABLE_MAX: usize = 150;

/// The longest a compact id can be (two 96-character parts).
pub const COMPACT_MAX: usize = 226;

/// The longest prefix with which every valid Space id has a volume and image name within
/// Docker's 255 characters (`<prefix>_data_<compact id>` is the longest).
pub const PREFIX_ALWAYS_FITS: usize = 255 - "_data_".len() - COMPACT_MAX;

/// Docker's limit on an image repository's and a volume's name.
const DOCKER_NAME_MAX: usize = 255;

/// The characters of a Space id, in the order of their digit values in [`compact`].
const ID_ALPHABET: &[u8; 66] =
    b"-._/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The digits of the compact form.
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// One Docker path component: `[a-z0-9]+(-+[a-z0-9]+)*`, never empty. Used for the configured
/// prefix (not injective: it is the operator's choice, not a Space's).
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

/// Escapes one part of a Space id (see the table in the [module docs](self)). A character a
/// Space id cannot hold (none reaches here) is written `03` and six hex digits: the code stays
/// prefix-free, so the escaping stays injective on any input.
pub fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len() * 2);
    for c in part.chars() {
        match c {
            'a'..='z' | '1'..='9' | '-' => out.push(c),
            '0' => out.push_str("00"),
            'A'..='Z' => {
                out.push('0');
                out.push(c.to_ascii_lowercase());
            }
            '_' => out.push_str("01"),
            '.' => out.push_str("02"),
            other => out.push_str(&format!("03{:06x}", u32::from(other))),
        }
    }
    out
}

/// The whole id `owner/name` as one base-36 number: its characters are digits in base 66
/// (`-._/`, digits, `A`–`Z`, `a`–`z`) after a leading 1 (so leading digits are kept), converted to base 36.
/// `None` when the id holds a character outside the alphabet (a valid Space id never does).
pub fn compact(id: &str) -> Option<String> {
    let mut digits: Vec<u32> = Vec::with_capacity(id.len() + 1);
    digits.push(1);
    for b in id.bytes() {
        let d = ID_ALPHABET.iter().position(|a| *a == b)?;
        digits.push(u32::try_from(d).ok()?);
    }
    let base_in = u32::try_from(ID_ALPHABET.len()).ok()?;
    let base_out = u32::try_from(BASE36.len()).ok()?;
    // Repeated division of the base-66 number by 36; the remainders are the base-36 digits.
    let mut out = Vec::new();
    while !digits.is_empty() {
        let mut rest = 0u32;
        let mut quotient = Vec::with_capacity(digits.len());
        for d in &digits {
            let acc = rest * base_in + d;
            let q = acc / base_out;
            rest = acc % base_out;
            if !(quotient.is_empty() && q == 0) {
                quotient.push(q);
            }
        }
        out.push(*BASE36.get(usize::try_from(rest).ok()?)?);
        digits = quotient;
    }
    out.reverse();
    String::from_utf8(out).ok()
}

/// A Space's part of every name: its two escaped parts, or its compact form.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SpaceKey {
    Readable(String, String),
    Compact(String),
}

impl SpaceKey {
    fn of(space: &SpaceId) -> Self {
        let (owner, name) = (escape(space.owner()), escape(space.name()));
        if owner.len() + name.len() <= READABLE_MAX {
            return SpaceKey::Readable(owner, name);
        }
        match compact(space.as_str()) {
            Some(blob) => SpaceKey::Compact(blob),
            // Unreachable for a valid id; the readable form is injective all the same.
            None => SpaceKey::Readable(owner, name),
        }
    }

    /// The key's fields joined by `sep`.
    fn join(&self, sep: char) -> String {
        match self {
            SpaceKey::Readable(owner, name) => format!("{owner}{sep}{name}"),
            SpaceKey::Compact(blob) => blob.clone(),
        }
    }
}

fn too_long(what: &str, space: &SpaceId, name: &str) -> Error {
    Error::Unsupported {
        backend: super::BACKEND,
        what: format!(
            "the {what} name of {space} ({} characters, over Docker's {DOCKER_NAME_MAX}): use a \
             shorter DockerConfig::prefix",
            name.len()
        ),
    }
}

/// The image tag of a Space's revision: `<prefix>/<owner>/<name>:<revision>`.
pub(crate) fn image_tag(
    prefix: &str,
    space: &SpaceId,
    revision: &Revision,
) -> Result<String, Error> {
    let repository = format!("{prefix}/{}", SpaceKey::of(space).join('/'));
    if repository.len() > DOCKER_NAME_MAX {
        return Err(too_long("image", space, &repository));
    }
    Ok(format!("{repository}:{}", revision.as_str()))
}

/// The persistent volume of a Space: `<prefix>_data_<owner>_<name>`.
pub(crate) fn volume_name(prefix: &str, space: &SpaceId) -> Result<String, Error> {
    let name = format!("{prefix}_data_{}", SpaceKey::of(space).join('_'));
    if name.len() > DOCKER_NAME_MAX {
        return Err(too_long("volume", space, &name));
    }
    Ok(name)
}

/// A container name for a new instance: `<prefix>_<owner>_<name>_<revision>_<unique>` (the
/// engine sets no length limit on container names).
pub(crate) fn container_name(
    prefix: &str,
    space: &SpaceId,
    revision: &Revision,
    unique: &str,
) -> String {
    format!(
        "{prefix}_{}_{}_{unique}",
        SpaceKey::of(space).join('_'),
        revision.short()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Docker's path component grammar: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    fn valid_component(s: &str) -> bool {
        let bytes = s.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return false;
        }
        s.split(|c: char| !c.is_ascii_alphanumeric())
            .all(|run| run.bytes().all(alnum))
            && s.bytes().all(|b| alnum(b) || b == b'-')
    }

    /// Docker's container and volume name grammar: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
    fn valid_name(s: &str) -> bool {
        s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    }

    fn assert_valid(space: &SpaceId) {
        let rev = Revision::new("C0FFEE12").unwrap();
        let tag = image_tag("spaces", space, &rev).unwrap();
        let (repo, tag_part) = tag.rsplit_once(':').unwrap();
        assert!(repo.len() <= DOCKER_NAME_MAX, "{tag}");
        assert!(repo.split('/').all(valid_component), "{tag}");
        assert_eq!(tag_part, "c0ffee12");
        let volume = volume_name("spaces", space).unwrap();
        assert!(
            volume.len() <= DOCKER_NAME_MAX && valid_name(&volume),
            "{volume}"
        );
        assert!(valid_name(&container_name("spaces", space, &rev, "1a2b")));
    }

    #[test]
    fn names_are_valid_docker_references() {
        for id in [
            "alice/i-like-flan",
            "Alice/My_App.v2",
            "_x/y_",
            "a/b",
            "a-_/0_.0",
        ] {
            assert_valid(&id.parse().unwrap());
        }
        let long = format!("{}/{}", "Z".repeat(96), "_".repeat(96));
        assert_valid(&long.parse().unwrap());
    }

    #[test]
    fn readable_ids_stay_readable() {
        let space: SpaceId = "alice/i-like-flan".parse().unwrap();
        assert_eq!(
            volume_name("spaces", &space).unwrap(),
            "spaces_data_alice_i-like-flan"
        );
        let rev = Revision::new("abcdef12").unwrap();
        assert_eq!(
            image_tag("spaces", &space, &rev).unwrap(),
            "spaces/alice/i-like-flan:abcdef12"
        );
        assert_eq!(
            container_name("spaces", &space, &rev, "u1"),
            "spaces_alice_i-like-flan_abcdef1_u1"
        );
        assert_eq!(escape("Alice"), "0alice");
        assert_eq!(escape("My_App.v20"), "0my010app02v200");
    }

    #[test]
    fn the_reviewed_collision_is_gone() {
        let a: SpaceId = "bob-x/data".parse().unwrap();
        let b: SpaceId = "bob/x-data".parse().unwrap();
        let rev = Revision::new("abcd").unwrap();
        assert_ne!(
            volume_name("spaces", &a).unwrap(),
            volume_name("spaces", &b).unwrap()
        );
        assert_ne!(
            image_tag("spaces", &a, &rev).unwrap(),
            image_tag("spaces", &b, &rev).unwrap()
        );
        assert_ne!(
            container_name("spaces", &a, &rev, "u"),
            container_name("spaces", &b, &rev, "u")
        );
        // Case and punctuation are kept apart too.
        let c: SpaceId = "alice/My.App".parse().unwrap();
        let d: SpaceId = "alice/my-app".parse().unwrap();
        let e: SpaceId = "Alice/my-app".parse().unwrap();
        let names: std::collections::HashSet<_> = [&c, &d, &e]
            .iter()
            .map(|s| volume_name("spaces", s).unwrap())
            .collect();
        assert_eq!(names.len(), 3);
    }

    #[test]
    fn compact_form_is_bounded_and_used_for_long_ids() {
        let worst = format!("{}/{}", "z".repeat(96), "z".repeat(96));
        assert_eq!(compact(&worst).unwrap().len(), COMPACT_MAX);
        let worst: SpaceId = worst.parse().unwrap();
        let prefix = "p".repeat(PREFIX_ALWAYS_FITS);
        let rev = Revision::new("abcd").unwrap();
        assert!(volume_name(&prefix, &worst).is_ok());
        assert!(image_tag(&prefix, &worst, &rev).is_ok());
        assert!(volume_name(&format!("{prefix}p"), &worst).is_err());
        let long: SpaceId = format!("{}/{}", "A".repeat(96), "b".repeat(96))
            .parse()
            .unwrap();
        let volume = volume_name("spaces", &long).unwrap();
        assert_eq!(volume.matches('_').count(), 2, "{volume}");
        // A prefix too long for the compact form is refused, not truncated.
        let err = volume_name(&"p".repeat(40), &long).unwrap_err();
        assert!(err.to_string().contains("prefix"), "{err}");
    }

    /// A valid Space id part: the Hub rules (spaces-core's `check_part`).
    fn part() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9_]([A-Za-z0-9_.-]{0,10}[A-Za-z0-9_])?",
            "[A-Za-z0-9_]([A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?",
            "[a-z][a-z_-]{0,6}[a-z]",
        ]
        .prop_filter("a valid part", |p| {
            !p.contains("--") && !p.contains("..") && !p.ends_with(".git")
        })
    }

    /// The inverse of [`escape`] (test only: it proves the escaping injective).
    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '0' {
                out.push(c);
                continue;
            }
            match chars.next().unwrap() {
                '0' => out.push('0'),
                '1' => out.push('_'),
                '2' => out.push('.'),
                c => out.push(c.to_ascii_uppercase()),
            }
        }
        out
    }

    /// The inverse of [`compact`].
    fn uncompact(s: &str) -> String {
        let mut digits: Vec<u32> = vec![0];
        for b in s.bytes() {
            let d = BASE36.iter().position(|x| *x == b).unwrap() as u32;
            // digits (base 66, least significant first) = digits * 36 + d
            let mut carry = d;
            for x in digits.iter_mut() {
                let v = *x * 36 + carry;
                *x = v % 66;
                carry = v / 66;
            }
            while carry > 0 {
                digits.push(carry % 66);
                carry /= 66;
            }
        }
        assert_eq!(digits.pop(), Some(1), "the leading 1");
        digits
            .iter()
            .rev()
            .map(|d| ID_ALPHABET[*d as usize] as char)
            .collect()
    }

    fn space_id() -> impl Strategy<Value = SpaceId> {
        (part(), part()).prop_filter_map("a valid id", |(o, n)| SpaceId::from_parts(&o, &n).ok())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn distinct_ids_never_share_a_name(a in space_id(), b in space_id()) {
            let rev = Revision::new("abcd").unwrap();
            assert_valid(&a);
            let same = a == b;
            prop_assert_eq!(volume_name("spaces", &a).unwrap() == volume_name("spaces", &b).unwrap(), same);
            prop_assert_eq!(image_tag("spaces", &a, &rev).unwrap() == image_tag("spaces", &b, &rev).unwrap(), same);
            prop_assert_eq!(container_name("spaces", &a, &rev, "u") == container_name("spaces", &b, &rev, "u"), same);
        }

        #[test]
        fn every_name_decodes_back_to_its_id(a in space_id()) {
            match SpaceKey::of(&a) {
                SpaceKey::Readable(o, n) => {
                    prop_assert_eq!(unescape(&o), a.owner());
                    prop_assert_eq!(unescape(&n), a.name());
                }
                SpaceKey::Compact(blob) => prop_assert_eq!(uncompact(&blob), a.as_str()),
            }
            let long = format!("{}/{}", a.owner(), "Q".repeat(96));
            prop_assert_eq!(uncompact(&compact(&long).unwrap()), long);
        }

        #[test]
        fn ids_differing_in_one_character_never_share_a_name(a in space_id(), i in 0usize..200, c in "[A-Za-z0-9_.-]") {
            let s = a.as_str();
            let i = i % s.len();
            if s.as_bytes()[i] != b'/' {
                let mut changed = s.to_owned();
                changed.replace_range(i..=i, &c);
                if let Ok(b) = changed.parse::<SpaceId>() {
                    let same = a == b;
                    prop_assert_eq!(volume_name("spaces", &a).unwrap() == volume_name("spaces", &b).unwrap(), same);
                    prop_assert_eq!(image_tag("spaces", &a, &Revision::new("abcd").unwrap()).unwrap()
                        == image_tag("spaces", &b, &Revision::new("abcd").unwrap()).unwrap(), same);
                }
            }
        }
    }
}
