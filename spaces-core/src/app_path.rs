//! [`AppPath`]: a path inside a Space's repository (the `app_file`), checked so that it can
//! never point outside the repository.

use std::fmt;
use std::path::Path;

use crate::error::Error;

/// The longest app path accepted, in bytes.
pub const MAX_APP_PATH_LEN: usize = 1024;

/// A relative path inside a Space's repository, such as `app.py` or `src/main.py`.
///
/// Valid once built: not empty, at most [`MAX_APP_PATH_LEN`] bytes, relative (no leading `/`),
/// every `/`-separated part a plain name (no empty part, no `.` or `..`), and no NUL, backslash or
/// control character. Joined to a repository folder it names a file inside that folder (symbolic
/// links inside the repository are for the backend to refuse).
///
/// ```
/// use spaces_core::AppPath;
/// assert_eq!(AppPath::new("src/app.py")?.as_str(), "src/app.py");
/// assert!(AppPath::new("/etc/passwd").is_err());
/// assert!(AppPath::new("../x.py").is_err());
/// assert!(AppPath::new("a/./b.py").is_err());
/// # Ok::<(), spaces_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppPath(String);

impl AppPath {
    /// Checks `input` (see the type's docs for the rules).
    pub fn new(input: &str) -> Result<Self, Error> {
        let bad = |why: &'static str| Error::InvalidAppPath {
            input: input.to_owned(),
            why,
        };
        if input.is_empty() {
            return Err(bad("it is empty"));
        }
        if input.len() > MAX_APP_PATH_LEN {
            return Err(bad("it is longer than 1024 bytes"));
        }
        if input.starts_with('/') {
            return Err(bad(
                "it is absolute; write it relative to the repository root",
            ));
        }
        if input.chars().any(|c| c == '\\' || c.is_control()) {
            return Err(bad("it holds a backslash or a control character"));
        }
        for part in input.split('/') {
            match part {
                "" => return Err(bad("it has an empty part (`//` or a trailing `/`)")),
                "." | ".." => {
                    return Err(bad(
                        "it has a `.` or `..` part; name the file inside the repository",
                    ))
                }
                _ => {}
            }
        }
        Ok(Self(input.to_owned()))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path, for joining to a repository folder.
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }
}

impl AsRef<Path> for AppPath {
    fn as_ref(&self) -> &Path {
        self.as_path()
    }
}

impl fmt::Display for AppPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for AppPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for AppPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for AppPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AppPath::new(&s).map_err(serde::de::Error::custom)
    }
}

impl crate::Sdk {
    /// The SDK's default app file as an [`AppPath`] (`app.py`, `index.html`, `Dockerfile`).
    pub fn default_app_path(self) -> AppPath {
        AppPath(self.default_app_file().to_owned())
    }
}

impl AsRef<std::ffi::OsStr> for AppPath {
    fn as_ref(&self) -> &std::ffi::OsStr {
        std::ffi::OsStr::new(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_repository_are_accepted() {
        for ok in [
            "app.py",
            "src/app.py",
            "Dockerfile",
            "a b/c.py",
            "..x/y",
            "x../y",
        ] {
            assert!(AppPath::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn paths_that_could_leave_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x.py",
            "a/../../x",
            "./app.py",
            "a//b",
            "a/",
            "a\\..\\b",
            "a\0b",
            "a\nb",
        ] {
            assert!(AppPath::new(bad).is_err(), "{bad:?}");
        }
        assert!(AppPath::new(&"a".repeat(1025)).is_err());
    }
}
