//! Docker Spaces that need no image registry: `FROM scratch` plus the static busybox of Debian's
//! `busybox-static` package, copied into the build folder when the Space is prepared (the binary
//! is never committed). A machine without one gets it on first use ([`busybox_path`]: `apt-get
//! download busybox-static`, no root needed, cached).
//!
//! Used by the Docker conformance tests, the cold-start measurement and the quickstart's
//! `docker-hello` Space:
//!
//! ```no_run
//! use spaces_runtime::docker::fixtures;
//! let dir = std::env::temp_dir().join("docker-hello");
//! std::fs::create_dir_all(&dir)?;
//! fixtures::stage_space("examples/spaces/docker-hello", &dir)?; // files + busybox
//! # Ok::<(), std::io::Error>(())
//! ```

use std::path::{Path, PathBuf};

/// The line the serving app prints on stdout (the conformance contract).
pub const HELLO_LINE: &str = "hello from the app";

/// The serving app's marker on its ephemeral disk, in `/app`.
pub const EPHEMERAL_MARKER: &str = "ephemeral-marker";

/// Where the static busybox is looked for when `SPACES_BUSYBOX` is not set.
pub const BUSYBOX_PATHS: &[&str] = &["/bin/busybox", "/usr/bin/busybox"];

pub use super::busybox::{ENV_BUSYBOX, ENV_CACHE, ENV_SKIP_SYSTEM};

/// The port the fixtures listen on (the Hub's default `app_port`).
pub const APP_PORT: u16 = 7860;

/// The static busybox to copy into images (a scratch image has no libc, so it must be statically
/// linked; a dynamic one is skipped, or refused when `SPACES_BUSYBOX` names it):
///
/// 1. `SPACES_BUSYBOX`, when set;
/// 2. the first static one of [`BUSYBOX_PATHS`], unless `SPACES_BUSYBOX_SKIP_SYSTEM=1`;
/// 3. the one cached by an earlier download, in `SPACES_BUSYBOX_CACHE` (else
///    `$XDG_CACHE_HOME/spaces-runtime`, `$HOME/.cache/spaces-runtime`, or the temp folder);
/// 4. Debian's `busybox-static`, downloaded there with `apt-get download` (no root needed) and
///    unpacked with `dpkg-deb -x`.
///
/// When all fail, the error says what to do (`apt-get update`, install `busybox-static`, or set
/// `SPACES_BUSYBOX`).
pub fn busybox_path() -> std::io::Result<PathBuf> {
    super::busybox::find(&super::busybox::Lookup::from_env(BUSYBOX_PATHS))
}

/// Copies the static busybox into `dir` as `busybox` (executable), where the fixtures'
/// `Dockerfile`s `COPY` it from. Returns its path in `dir`.
pub fn stage_busybox(dir: &Path) -> std::io::Result<PathBuf> {
    let from = busybox_path()?;
    let to = dir.join("busybox");
    std::fs::copy(&from, &to)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(to)
}

/// Copies a Docker Space's files from `from` into `to` (skipping `.git` and a `busybox` already
/// there), then stages the busybox: `to` is then a complete build folder.
pub fn stage_space(from: impl AsRef<Path>, to: impl AsRef<Path>) -> std::io::Result<()> {
    copy_tree(from.as_ref(), to.as_ref())?;
    stage_busybox(to.as_ref())?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" || name == "busybox" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &to.join(&name))?;
        } else {
            std::fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

/// The first lines of every fixture `Dockerfile`: busybox, its applets linked into `/bin` (so
/// `/bin/sh` exists), and `/tmp`.
pub const DOCKERFILE_BASE: &str = r#"COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-m", "1777", "/tmp"]
"#;

/// The label a fixture's `tag` is written under, right after `FROM`: every image of its build,
/// intermediate ones included, carries it (tests remove them all by it).
pub const LABEL_FIXTURE: &str = "io.spaces.fixture";

/// `FROM scratch`, the fixture label when `tag` is given, then [`DOCKERFILE_BASE`].
fn base(tag: Option<&str>) -> String {
    let label = tag.map_or_else(String::new, |t| format!("LABEL {LABEL_FIXTURE}=\"{t}\"\n"));
    format!("FROM scratch\n{label}{DOCKERFILE_BASE}")
}

/// The serving app of the conformance contract, as a busybox `sh` script: it checks its markers
/// in `/data` and on its ephemeral disk (`/app`), creates both, says hello on stdout and serves
/// `persistent=yes|no ephemeral=yes|no` with `busybox httpd` on port 7860.
pub fn serving_script() -> String {
    format!(
        r#"#!/bin/sh
persistent=no
ephemeral=no
[ -f /data/marker ] && persistent=yes
[ -f /app/{EPHEMERAL_MARKER} ] && ephemeral=yes
touch /app/{EPHEMERAL_MARKER}
[ -d /data ] && touch /data/marker
mkdir -p /app/www
echo "persistent=$persistent ephemeral=$ephemeral" > /app/www/index.html
echo "{HELLO_LINE}"
exec httpd -f -p {APP_PORT} -h /app/www
"#
    )
}

/// A CGI answering 500 to every request: the never-healthy app's page.
pub const FAILING_CGI: &str = "#!/bin/sh\necho 'Status: 500 Internal Server Error'\necho 'Content-Type: text/plain'\necho\necho 'never healthy'\n";

fn write(dir: &Path, name: &str, text: &str, executable: bool) -> std::io::Result<()> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, text)?;
    #[cfg(unix)]
    if executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Writes the serving Space (Dockerfile, `start.sh`, busybox) into `dir`; `tag`: see
/// [`LABEL_FIXTURE`].
pub fn write_serving(dir: &Path, tag: Option<&str>) -> std::io::Result<()> {
    let base = base(tag);
    stage_busybox(dir)?;
    write(dir, "start.sh", &serving_script(), true)?;
    write(
        dir,
        "Dockerfile",
        &format!(
            "{base}COPY --chown=1000:1000 start.sh /app/start.sh\nWORKDIR /app\nEXPOSE {APP_PORT}\nCMD [\"/bin/sh\", \"/app/start.sh\"]\n"
        ),
        false,
    )
}

/// Writes a Space whose build fails at a `RUN` step into `dir`; `tag`: see
/// [`LABEL_FIXTURE`].
pub fn write_failing_build(dir: &Path, tag: Option<&str>) -> std::io::Result<()> {
    let base = base(tag);
    stage_busybox(dir)?;
    write(
        dir,
        "Dockerfile",
        &format!("{base}RUN [\"/bin/busybox\", \"false\"]\nCMD [\"/bin/sh\"]\n"),
        false,
    )
}

/// Writes a Space whose app exits with code 3 right after it starts into `dir`; `tag`: see
/// [`LABEL_FIXTURE`].
pub fn write_exiting(dir: &Path, tag: Option<&str>) -> std::io::Result<()> {
    let base = base(tag);
    stage_busybox(dir)?;
    write(
        dir,
        "Dockerfile",
        &format!("{base}CMD [\"/bin/sh\", \"-c\", \"echo bye; exit 3\"]\n"),
        false,
    )
}

/// Writes a Space whose app serves 500 on every request (busybox `httpd` and a CGI) into `dir`; `tag`: see
/// [`LABEL_FIXTURE`].
pub fn write_never_healthy(dir: &Path, tag: Option<&str>) -> std::io::Result<()> {
    let base = base(tag);
    stage_busybox(dir)?;
    write(dir, "www/cgi-bin/index.cgi", FAILING_CGI, true)?;
    write(
        dir,
        "Dockerfile",
        &format!(
            "{base}COPY www/ /www/\nCMD [\"/bin/httpd\", \"-f\", \"-p\", \"{APP_PORT}\", \"-h\", \"/www\"]\n"
        ),
        false,
    )
}
