//! Builds of the local runtime: an image is a copy of the revision's files, checked.
//!
//! The copy skips `.git` and every symbolic link, so nothing in an image points outside it. The
//! app file must be a regular file of the repository reached without any link (a link to a file
//! or a folder outside the source is refused before anything is read through it), and it must
//! still be one in the copy. Python Spaces are checked with `python3 -I -m py_compile` inside the
//! image (isolated mode: neither the image folder nor `PYTHON*` variables can change which
//! `py_compile` runs, and the build sees none of this process's environment), then get their
//! Python environment (see `python_env`), named in the image's `.spaces-python-env`.

use std::io;
use std::path::{Component, Path, PathBuf};

use spaces_core::{AppPath, Revision, Sdk, SpaceId};
use tokio::process::Command;

use super::interpreter::find_interpreter;
use super::python_env::{sdk_package, EnvSpec, PythonEnvs, IMAGE_ENV_FILE};
use super::records::remove_dir_if_present;
use super::{blocking, BACKEND};
use crate::runtime::{BuildOutput, BuildRequest, Image};
use crate::Error;

/// Variables of this process that a build or an app may see (no others: they may hold this
/// process's secrets).
pub(super) const PASSED_VARIABLES: [&str; 4] = ["PATH", "LANG", "LC_ALL", "TZ"];

/// The folder of an image: `<root>/images/<owner>/<name>/<revision>`.
pub(super) fn image_dir(root: &Path, space: &SpaceId, revision: &Revision) -> PathBuf {
    root.join("images")
        .join(space.owner())
        .join(space.name())
        .join(revision.as_str())
}

/// The app file as an argument that cannot be read as an option (`./-x.py`, not `-x.py`).
pub(super) fn app_argument(app_file: &AppPath) -> PathBuf {
    Path::new(".").join(app_file.as_path())
}

/// Copies a folder tree, skipping `.git` and symbolic links. Returns the number of files copied.
fn copy_tree(from: &Path, to: &Path) -> io::Result<usize> {
    std::fs::create_dir_all(to)?;
    let mut files = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" || name == super::python_env::IMAGE_ENV_FILE {
            continue;
        }
        let kind = entry.file_type()?; // does not follow links
        let target = to.join(&name);
        if kind.is_dir() {
            files += copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
            files += 1;
        }
    }
    Ok(files)
}

/// Copies an image into a fresh instance folder.
pub(super) fn copy_image(image: &Path, instance: &Path) -> io::Result<usize> {
    copy_tree(image, instance)
}

/// Why `app_file` cannot be used from `source`: missing, not a regular file, or reached through
/// a symbolic link. Looks at each part without following links.
fn app_file_problem(source: &Path, app_file: &AppPath) -> Option<String> {
    let parts: Vec<_> = app_file.as_path().components().collect();
    let mut path = source.to_path_buf();
    let mut shown = PathBuf::new();
    for (i, part) in parts.iter().enumerate() {
        let Component::Normal(part) = part else {
            return Some(format!(
                "app file `{app_file}` is not a plain relative path"
            ));
        };
        path.push(part);
        shown.push(part);
        let last = i + 1 == parts.len();
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Some(format!("app file `{app_file}` not found in the repository"))
            }
            Err(e) => return Some(format!("app file `{app_file}` cannot be read: {e}")),
        };
        if meta.file_type().is_symlink() {
            return Some(format!(
                "app file `{app_file}`: `{}` is a symbolic link; the app file must be a file of \
                 the repository itself (the local runtime copies no links)",
                shown.display()
            ));
        }
        if last && !meta.is_file() {
            return Some(format!("app file `{app_file}` is not a regular file"));
        }
        if !last && !meta.is_dir() {
            return Some(format!(
                "app file `{app_file}`: `{}` is not a folder",
                shown.display()
            ));
        }
    }
    None
}

pub(super) fn tail(log: &[String], n: usize) -> String {
    log[log.len().saturating_sub(n)..].join("\n")
}

/// Builds `req` into `<root>/images/...`, with `python` for the Python SDKs.
pub(super) async fn build(
    root: &Path,
    python: Option<&Path>,
    envs: &PythonEnvs,
    req: BuildRequest,
) -> Result<BuildOutput, Error> {
    if req.sdk == Sdk::Docker {
        return Err(Error::Unsupported {
            backend: BACKEND,
            what: "docker Spaces (enable the `docker` feature and use DockerRuntime)".into(),
        });
    }
    let mut log = vec![format!(
        "building {} at {} ({} SDK){}",
        req.space,
        req.revision.short(),
        req.sdk,
        if req.no_cache {
            ", without cache (python environments are still reused: they are keyed by what they install)"
        } else {
            ""
        }
    )];
    let failed = |reason: String, log: &Vec<String>| Error::BuildFailed {
        space: req.space.clone(),
        reason,
        log_tail: tail(log, 40),
    };
    let python = if matches!(req.sdk, Sdk::Gradio | Sdk::Streamlit) {
        Some(python.ok_or_else(|| Error::Unsupported {
            backend: BACKEND,
            what: format!("{} Spaces on a machine without python3 on PATH", req.sdk),
        })?)
    } else {
        None
    };
    let (source, app_file) = (req.source.clone(), req.app_file.clone());
    if let Some(problem) = blocking("checking the app file", move || {
        Ok(app_file_problem(&source, &app_file))
    })
    .await?
    {
        log.push(format!("error: {problem}"));
        return Err(failed(problem, &log));
    }
    let dir = image_dir(root, &req.space, &req.revision);
    let (source, target, app_file) = (req.source.clone(), dir.clone(), req.app_file.clone());
    let (copied, problem) = blocking(
        format!("copying the revision into {}", dir.display()),
        move || {
            remove_dir_if_present(&target)?;
            let copied = copy_tree(&source, &target)?;
            Ok((copied, app_file_problem(&target, &app_file)))
        },
    )
    .await?;
    log.push(format!("copied {copied} files"));
    if let Some(problem) = problem {
        let _ = remove_dir_if_present(&dir);
        log.push(format!("error: in the copy: {problem}"));
        return Err(failed(problem, &log));
    }

    if let Some(python) = python {
        log.push(format!("checking that {} compiles", req.app_file));
        let mut cmd = Command::new(python);
        cmd.args(["-I", "-m", "py_compile"])
            .arg(app_argument(&req.app_file))
            .current_dir(&dir)
            .env_clear()
            .env("HOME", &dir)
            .kill_on_drop(true);
        for key in PASSED_VARIABLES {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        let out = cmd
            .output()
            .await
            .map_err(Error::io("running python -m py_compile"))?;
        for text in [&out.stdout, &out.stderr] {
            log.extend(String::from_utf8_lossy(text).lines().map(str::to_owned));
        }
        if !out.status.success() {
            let _ = remove_dir_if_present(&dir);
            return Err(failed(format!("{} does not compile", req.app_file), &log));
        }
        if let Err(e) = python_environment(envs, python, &req, &dir, &mut log).await {
            let _ = remove_dir_if_present(&dir);
            return Err(e);
        }
    }
    log.push(format!("image ready: {}", dir.display()));
    Ok(BuildOutput {
        image: Image {
            reference: dir.display().to_string(),
            space: req.space,
            revision: req.revision,
            sdk: req.sdk,
            app_file: req.app_file,
        },
        log,
    })
}

/// Reads a file of the image when it is a regular file there (`None` when absent).
async fn read_optional(dir: &Path, name: &'static str) -> Result<Option<Vec<u8>>, Error> {
    let path = dir.join(name);
    blocking(
        format!("reading {name}"),
        move || match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => std::fs::read(&path).map(Some),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        },
    )
    .await
}

/// Gives a Python Space its environment when it asks for one (`sdk_version` in its README, a
/// `requirements.txt` or a `pre-requirements.txt`) and names it in the image's
/// [`IMAGE_ENV_FILE`]. Without any of these the machine's Python is used as it is.
async fn python_environment(
    envs: &PythonEnvs,
    python: &Path,
    req: &BuildRequest,
    dir: &Path,
    log: &mut Vec<String>,
) -> Result<(), Error> {
    let Some(package) = sdk_package(req.sdk) else {
        return Ok(());
    };
    let readme = read_optional(dir, "README.md").await?;
    let config = match readme.map(|r| spaces_config::parse_readme(&String::from_utf8_lossy(&r))) {
        Some(Ok(config)) => Some(config),
        Some(Err(e)) => {
            log.push(format!(
                "README.md front matter not used ({e}): SDK defaults apply"
            ));
            None
        }
        None => None,
    };
    let sdk_version = config.as_ref().and_then(|c| c.sdk_version.clone());
    let python_version = config.as_ref().and_then(|c| c.python_version);
    let pre_requirements = read_optional(dir, "pre-requirements.txt").await?;
    let requirements = read_optional(dir, "requirements.txt").await?;
    if sdk_version.is_none() && pre_requirements.is_none() && requirements.is_none() {
        log.push(format!(
            "no sdk_version and no requirements.txt: {} runs on this machine's Python as it is",
            req.app_file
        ));
        return Ok(());
    }
    let failed = |reason: String, log: &Vec<String>| Error::BuildFailed {
        space: req.space.clone(),
        reason,
        log_tail: tail(log, 40),
    };
    let (interpreter, version) =
        match find_interpreter(python, python_version.map(|v| (v.minor, v.patch))).await {
            Ok(found) => found,
            Err(why) => {
                let reason = format!(
                    "configuration error: README.md python_version {} is not available on this \
                     machine ({why}); remove python_version or install that Python",
                    python_version.map(|v| v.to_string()).unwrap_or_default()
                );
                log.push(format!("error: {reason}"));
                return Err(failed(reason, log));
            }
        };
    let spec = EnvSpec {
        python: interpreter,
        python_version: version,
        sdk_requirement: match &sdk_version {
            Some(v) => format!("{package}=={v}"),
            None => package.to_owned(),
        },
        pre_requirements,
        requirements,
    };
    let env = envs.ensure(&req.space, &spec, log).await?;
    let marker = dir.join(IMAGE_ENV_FILE);
    let key = env.key.clone();
    blocking("naming the image's environment", move || {
        std::fs::write(marker, format!("{key}\n"))
    })
    .await
}

/// The environment named by an image, if it has one.
pub(super) fn image_env_key(image_dir: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(image_dir.join(IMAGE_ENV_FILE)) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The folder of `image` if its reference is exactly the folder this runtime builds it into
/// (`<root>/images/<owner>/<name>/<revision>`, written the same way) and no part of it below
/// `<root>/images` is a symbolic link. `None` for anything else.
pub(super) fn owned_image_dir(root: &Path, image: &Image) -> Option<PathBuf> {
    let expected = image_dir(root, &image.space, &image.revision);
    if Path::new(&image.reference).as_os_str() != expected.as_os_str() {
        return None;
    }
    let mut path = root.join("images");
    for part in [image.space.owner(), image.space.name()] {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return None, // a link or a file where a folder belongs
            Err(_) => return Some(expected), // nothing there: nothing to remove
        }
    }
    Some(expected)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn image(reference: String) -> Image {
        Image {
            reference,
            space: "alice/app".parse().unwrap(),
            revision: Revision::new("abcd").unwrap(),
            sdk: Sdk::Static,
            app_file: Sdk::Static.default_app_path(),
        }
    }

    #[test]
    fn only_the_exact_image_folder_is_owned() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().display().to_string();
        let good = format!("{r}/images/alice/app/abcd");
        assert_eq!(
            owned_image_dir(root.path(), &image(good.clone())),
            Some(PathBuf::from(&good))
        );
        for bad in [
            format!("{r}/images/../.."),
            format!("{r}/images/.."),
            format!("{r}/images"),
            format!("{r}/images/alice/app/abcd/.."),
            format!("{r}/images/alice/app/abcd/../../../.."),
            format!("{r}/images/./alice/app/abcd"),
            format!("{r}/images//alice/app/abcd"),
            format!("{r}/images/alice/app/abcd/"),
            format!("{r}/images/alice/other/abcd"),
            "images/alice/app/abcd".to_string(),
            "/".to_string(),
        ] {
            assert_eq!(
                owned_image_dir(root.path(), &image(bad.clone())),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn an_image_folder_reached_through_a_link_is_not_owned() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("app/abcd")).unwrap();
        std::fs::create_dir_all(root.path().join("images")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("images/alice")).unwrap();
        let reference = format!("{}/images/alice/app/abcd", root.path().display());
        assert_eq!(owned_image_dir(root.path(), &image(reference)), None);
    }

    #[test]
    fn app_files_behind_links_are_refused() {
        let src = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.py"), "x = 1\n").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.py"), src.path().join("app.py"))
            .unwrap();
        std::os::unix::fs::symlink(outside.path(), src.path().join("src")).unwrap();
        std::fs::create_dir(src.path().join("dir.py")).unwrap();
        std::fs::write(src.path().join("ok.py"), "x = 1\n").unwrap();
        let problem = |p: &str| app_file_problem(src.path(), &AppPath::new(p).unwrap());
        assert!(problem("app.py").unwrap().contains("symbolic link"));
        assert!(problem("src/secret.py")
            .unwrap()
            .contains("`src` is a symbolic link"));
        assert!(problem("dir.py").unwrap().contains("not a regular file"));
        assert!(problem("missing.py").unwrap().contains("not found"));
        assert!(problem("ok.py/x.py").unwrap().contains("not a folder"));
        assert_eq!(problem("ok.py"), None);
    }
}
