//! Finding a static busybox for the fixtures, and fetching Debian's when the machine has none.
//!
//! In order: `SPACES_BUSYBOX` (must be static); unless `SPACES_BUSYBOX_SKIP_SYSTEM=1`, the first
//! static one of [`BUSYBOX_PATHS`](super::fixtures::BUSYBOX_PATHS) (Debian's plain `busybox`
//! package is dynamically linked, useless in a scratch image, and skipped); the copy cached by an
//! earlier download; else a download: `apt-get download busybox-static` (no root needed) in a
//! fresh folder of the cache, `dpkg-deb -x`, and the binary moved into the cache atomically (two
//! processes downloading at once both end with a whole file).
//!
//! The cache is `SPACES_BUSYBOX_CACHE`, else `$XDG_CACHE_HOME/spaces-runtime`, else
//! `$HOME/.cache/spaces-runtime`, else `spaces-runtime-cache` in the temp folder.

use std::ffi::OsString;
use std::io::{Error, ErrorKind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The variable naming a static busybox to use.
pub const ENV_BUSYBOX: &str = "SPACES_BUSYBOX";
/// Set to `1` to ignore the system's busybox (to check the download on a machine that has one).
pub const ENV_SKIP_SYSTEM: &str = "SPACES_BUSYBOX_SKIP_SYSTEM";
/// The variable naming the folder where a downloaded busybox is cached.
pub const ENV_CACHE: &str = "SPACES_BUSYBOX_CACHE";

/// The Debian package holding a static busybox.
const PACKAGE: &str = "busybox-static";

/// Where and how a busybox is looked for.
#[derive(Clone, Debug)]
pub(crate) struct Lookup {
    /// `SPACES_BUSYBOX`.
    pub(crate) explicit: Option<PathBuf>,
    /// The system paths to try.
    pub(crate) system: Vec<PathBuf>,
    /// The cache folder.
    pub(crate) cache: PathBuf,
    /// The `apt-get` and `dpkg-deb` programs.
    pub(crate) apt_get: OsString,
    pub(crate) dpkg_deb: OsString,
}

impl Lookup {
    /// The lookup the environment asks for.
    pub(crate) fn from_env(system: &[&str]) -> Self {
        let skip = std::env::var(ENV_SKIP_SYSTEM).is_ok_and(|v| v == "1");
        Self {
            explicit: std::env::var_os(ENV_BUSYBOX).map(PathBuf::from),
            system: if skip {
                Vec::new()
            } else {
                system.iter().map(PathBuf::from).collect()
            },
            cache: cache_dir(),
            apt_get: "apt-get".into(),
            dpkg_deb: "dpkg-deb".into(),
        }
    }
}

/// The folder a downloaded busybox is kept in (see the [module docs](self)).
pub(crate) fn cache_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var(ENV_CACHE) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("spaces-runtime");
    }
    if let Some(home) = var("HOME") {
        return PathBuf::from(home).join(".cache").join("spaces-runtime");
    }
    std::env::temp_dir().join("spaces-runtime-cache")
}

/// One download at a time in this process.
static DOWNLOAD: Mutex<()> = Mutex::new(());

/// The static busybox `lookup` finds, downloading it when needed.
pub(crate) fn find(lookup: &Lookup) -> std::io::Result<PathBuf> {
    if let Some(path) = &lookup.explicit {
        return match is_static_elf(path) {
            Ok(true) => Ok(path.clone()),
            Ok(false) => Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{ENV_BUSYBOX}={} is dynamically linked: a scratch image has no libc; use \
                     Debian's busybox-static",
                    path.display()
                ),
            )),
            Err(e) => Err(Error::new(
                e.kind(),
                format!("{ENV_BUSYBOX}={}: {e}", path.display()),
            )),
        };
    }
    if let Some(path) = lookup
        .system
        .iter()
        .find(|p| p.is_file() && is_static_elf(p).unwrap_or(false))
    {
        return Ok(path.clone());
    }
    let cached = lookup.cache.join("busybox");
    if is_static_elf(&cached).unwrap_or(false) {
        return Ok(cached);
    }
    let _one = DOWNLOAD.lock().unwrap_or_else(|e| e.into_inner());
    if is_static_elf(&cached).unwrap_or(false) {
        return Ok(cached);
    }
    download(lookup, &cached)
}

/// Downloads and unpacks `busybox-static` into `to`.
fn download(lookup: &Lookup, to: &Path) -> std::io::Result<PathBuf> {
    let context = |what: &str, e: Error| Error::new(e.kind(), format!("{what}: {e}"));
    std::fs::create_dir_all(&lookup.cache)
        .map_err(|e| context(&format!("creating {}", lookup.cache.display()), e))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let work = lookup
        .cache
        .join(format!("download-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&work)
        .map_err(|e| context(&format!("creating {}", work.display()), e))?;
    let result = fetch_into(lookup, &work, to);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn fetch_into(lookup: &Lookup, work: &Path, to: &Path) -> std::io::Result<PathBuf> {
    let how = format!(
        "install Debian's {PACKAGE} (apt-get install {PACKAGE}) or set {ENV_BUSYBOX} to a \
         static busybox"
    );
    let out = Command::new(&lookup.apt_get)
        .args(["download", PACKAGE])
        .current_dir(work)
        .output()
        .map_err(|e| {
            Error::new(
                e.kind(),
                format!(
                    "no static busybox here, and `{} download {PACKAGE}` could not run ({e}): {how}",
                    lookup.apt_get.to_string_lossy()
                ),
            )
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(4).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(Error::other(format!(
            "no static busybox here, and `apt-get download {PACKAGE}` failed ({}: {}). If apt \
             does not know the package, run `apt-get update` (as root) first; or {how}",
            out.status,
            tail.join(" / ")
        )));
    }
    let deb = std::fs::read_dir(work)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "`apt-get download {PACKAGE}` left no .deb in {}",
                    work.display()
                ),
            )
        })?;
    let root = work.join("root");
    let status = Command::new(&lookup.dpkg_deb)
        .arg("-x")
        .arg(&deb)
        .arg(&root)
        .status()
        .map_err(|e| Error::new(e.kind(), format!("running dpkg-deb -x: {e}: {how}")))?;
    if !status.success() {
        return Err(Error::other(format!(
            "dpkg-deb -x {} failed ({status}): {how}",
            deb.display()
        )));
    }
    let binary = ["bin/busybox", "usr/bin/busybox"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("{} holds no bin/busybox: {how}", deb.display()),
            )
        })?;
    if !is_static_elf(&binary)? {
        return Err(Error::other(format!(
            "the busybox of {} is not statically linked: {how}",
            deb.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))?;
    }
    // Same file system (both in the cache): an atomic replace.
    std::fs::rename(&binary, to)
        .map_err(|e| Error::new(e.kind(), format!("moving busybox to {}: {e}", to.display())))?;
    Ok(to.to_path_buf())
}

/// Whether `path` is an ELF executable without a program interpreter (statically linked).
/// Not an ELF file: an error.
pub(crate) fn is_static_elf(path: &Path) -> std::io::Result<bool> {
    let bytes = std::fs::read(path)?;
    let bad = || {
        Error::new(
            ErrorKind::InvalidData,
            format!("{} is not an ELF executable", path.display()),
        )
    };
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(bad());
    }
    let little = match bytes.get(5) {
        Some(1) => true,
        Some(2) => false,
        _ => return Err(bad()),
    };
    let read = |at: usize, len: usize| -> Option<u64> {
        let slice = bytes.get(at..at.checked_add(len)?)?;
        let mut v = 0u64;
        for i in 0..len {
            let b = if little { slice[len - 1 - i] } else { slice[i] };
            v = (v << 8) | u64::from(b);
        }
        Some(v)
    };
    // (program header offset, entry size, count) for ELF32 and ELF64.
    let (phoff, phentsize, phnum) = match bytes.get(4) {
        Some(1) => (read(0x1c, 4), read(0x2a, 2), read(0x2c, 2)),
        Some(2) => (read(0x20, 8), read(0x36, 2), read(0x38, 2)),
        _ => return Err(bad()),
    };
    let (Some(phoff), Some(size), Some(count)) = (phoff, phentsize, phnum) else {
        return Err(bad());
    };
    const PT_INTERP: u64 = 3;
    for i in 0..count {
        let at = i
            .checked_mul(size)
            .and_then(|o| o.checked_add(phoff))
            .and_then(|o| usize::try_from(o).ok())
            .ok_or_else(bad)?;
        if read(at, 4).ok_or_else(bad)? == PT_INTERP {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(cache: &Path) -> Lookup {
        Lookup {
            explicit: None,
            system: Vec::new(),
            cache: cache.to_path_buf(),
            apt_get: "apt-get".into(),
            dpkg_deb: "dpkg-deb".into(),
        }
    }

    #[test]
    fn dynamic_and_non_elf_files_are_told_apart() {
        // This test binary links libc dynamically; a text file is no ELF at all.
        let me = std::env::current_exe().unwrap();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(!is_static_elf(&me).unwrap());
        }
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text");
        std::fs::write(&text, "#!/bin/sh\n").unwrap();
        assert!(is_static_elf(&text).is_err());
        let truncated = dir.path().join("truncated");
        std::fs::write(&truncated, b"\x7fELF\x02\x01").unwrap();
        assert!(is_static_elf(&truncated).is_err());
        // SPACES_BUSYBOX naming a dynamic binary is refused with the reason.
        let mut l = lookup(dir.path());
        l.explicit = Some(me);
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            let err = find(&l).unwrap_err().to_string();
            assert!(err.contains("dynamically linked"), "{err}");
        }
    }

    #[test]
    fn no_apt_gives_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = lookup(dir.path());
        l.apt_get = "/nonexistent/apt-get".into();
        let err = find(&l).unwrap_err().to_string();
        assert!(err.contains("SPACES_BUSYBOX"), "{err}");
        assert!(err.contains("busybox-static"), "{err}");
        // A failing apt-get (`false` stands for one without package lists).
        l.apt_get = "false".into();
        let err = find(&l).unwrap_err().to_string();
        assert!(err.contains("apt-get update"), "{err}");
        // Nothing is left behind in the cache but the cache itself.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// Downloads for real into an empty cache: needs apt-get with package lists and the Debian
    /// mirror. Runs when `SPACES_TEST_BUSYBOX_DOWNLOAD=1`.
    #[test]
    fn downloads_into_an_empty_cache() {
        if std::env::var("SPACES_TEST_BUSYBOX_DOWNLOAD").as_deref() != Ok("1") {
            println!("SKIPPED: set SPACES_TEST_BUSYBOX_DOWNLOAD=1 to download busybox-static");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = find(&lookup(dir.path())).unwrap();
        assert_eq!(path, dir.path().join("busybox"));
        assert!(is_static_elf(&path).unwrap());
        // Found in the cache the second time (no apt-get).
        let mut l = lookup(dir.path());
        l.apt_get = "/nonexistent/apt-get".into();
        assert_eq!(find(&l).unwrap(), path);
    }
}
