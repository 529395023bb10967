//! Each Space is a bare git repository, `<data>/git/<owner>/<name>.git` (branch `main`), driven
//! through the `git` command line: the first commit of a new Space, its copy for a duplicate,
//! the tree of a commit written out (regular files only, paths checked) for a build.
//!
//! Nothing here follows a symlink of a tree: symlinks and submodules of a commit are dropped
//! when it is written out, and every path written is an [`AppPath`] joined under a fresh folder.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use spaces_core::{AppPath, SpaceId};

/// The author and committer of the commits the server makes.
pub const COMMITTER: &str = "spaces-server <noreply@spaces.local>";

/// The branch that builds.
pub const MAIN: &str = "refs/heads/main";

/// The folder of every Space's repository.
pub fn root(data: &Path) -> PathBuf {
    data.join("git")
}

/// A Space's bare repository.
pub fn repo_path(data: &Path, id: &SpaceId) -> PathBuf {
    root(data)
        .join(id.owner())
        .join(format!("{}.git", id.name()))
}

fn git(repo: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("--git-dir")
        .arg(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_LITERAL_PATHSPECS", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE");
    c
}

fn run(cmd: &mut Command, what: &str) -> std::io::Result<Vec<u8>> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "git {what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// Creates the bare repository (`main` as its default branch) and makes its first commit of
/// `files`. Returns the commit's id (40 hex digits).
pub fn init(
    repo: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    message: &str,
) -> std::io::Result<String> {
    if let Some(parent) = repo.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_dir_all(repo);
    run(
        Command::new("git")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["init", "--quiet", "--bare", "-b", "main"])
            .arg(repo),
        "init",
    )?;
    // Pushes over HTTP: let `git http-backend` accept them (the server checks the caller).
    run(
        git(repo).args(["config", "http.receivepack", "true"]),
        "config",
    )?;
    run(
        git(repo).args(["config", "receive.denyNonFastForwards", "false"]),
        "config",
    )?;
    run(
        git(repo).args(["config", "receive.fsckObjects", "true"]),
        "config",
    )?;
    commit(repo, None, files, message)
}

/// Makes a commit of exactly `files` on `main`, after `parent` (the first commit when `None`),
/// with `git fast-import`. Returns the commit's id.
pub fn commit(
    repo: &Path,
    parent: Option<&str>,
    files: &BTreeMap<String, Vec<u8>>,
    message: &str,
) -> std::io::Result<String> {
    let mut stream: Vec<u8> = Vec::new();
    let when = jiff::Timestamp::now().as_second();
    stream.extend_from_slice(
        format!(
            "commit {MAIN}\nauthor {COMMITTER} {when} +0000\ncommitter {COMMITTER} {when} +0000\ndata {}\n{message}\n",
            message.len()
        )
        .as_bytes(),
    );
    if let Some(p) = parent {
        stream.extend_from_slice(format!("from {p}\n").as_bytes());
    }
    stream.extend_from_slice(b"deleteall\n");
    for (path, content) in files {
        let checked = AppPath::new(path).map_err(|e| std::io::Error::other(e.to_string()))?;
        let p = checked.as_str();
        if p.contains(['\n', '"']) || p.split('/').any(|c| c == ".git") {
            return Err(std::io::Error::other(format!(
                "`{p}` cannot be a file of a Space"
            )));
        }
        stream
            .extend_from_slice(format!("M 100644 inline {p}\ndata {}\n", content.len()).as_bytes());
        stream.extend_from_slice(content);
        stream.push(b'\n');
    }
    stream.extend_from_slice(b"done\n");
    let mut child = git(repo)
        .args(["fast-import", "--quiet", "--done", "--force"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&stream)?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "git fast-import: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    head(repo)?.ok_or_else(|| std::io::Error::other("git fast-import made no commit"))
}

/// The commit `main` points at, if any.
pub fn head(repo: &Path) -> std::io::Result<Option<String>> {
    let out = git(repo)
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            "refs/heads/main^{commit}",
        ])
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Ok(None);
    }
    let sha = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok(is_sha(&sha).then_some(sha))
}

/// Whether `s` is a full object id (40 lower-case hex digits).
pub fn is_sha(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Copies a repository (a duplicate): every regular file and folder, symlinks skipped.
pub fn copy_repo(from: &Path, to: &Path) -> std::io::Result<()> {
    fn walk(from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let target = to.join(entry.file_name());
            if kind.is_dir() {
                walk(&entry.path(), &target)?;
            } else if kind.is_file() {
                std::fs::copy(entry.path(), &target)?;
            }
        }
        Ok(())
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let _ = std::fs::remove_dir_all(to);
    walk(from, to)
}

/// One entry of a tree: its mode, its blob id and its size.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The git mode (`100644`, `100755`).
    pub mode: String,
    /// The blob id.
    pub oid: String,
    /// The size in bytes.
    #[allow(dead_code)]
    pub size: u64,
}

/// The regular files of a commit's tree, path → entry (symlinks and submodules left out).
pub fn files(repo: &Path, commit: &str) -> std::io::Result<BTreeMap<String, Entry>> {
    let out = run(
        git(repo).args(["ls-tree", "-r", "-z", "--long", "--full-tree", commit]),
        "ls-tree",
    )?;
    let mut map = BTreeMap::new();
    for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(rec);
        let Some((meta, path)) = text.split_once('\t') else {
            continue;
        };
        let mut parts = meta.split_whitespace();
        let (Some(mode), Some(kind), Some(oid), Some(size)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if kind != "blob" || !(mode == "100644" || mode == "100755") {
            continue;
        }
        map.insert(
            path.to_owned(),
            Entry {
                mode: mode.to_owned(),
                oid: oid.to_owned(),
                size: size.parse().unwrap_or(0),
            },
        );
    }
    Ok(map)
}

/// Reads blobs with one `git cat-file --batch`, calling `each(path, content)` in order.
pub fn read_blobs(
    repo: &Path,
    entries: &BTreeMap<String, Entry>,
    mut each: impl FnMut(&str, &Entry, Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut child = git(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("git cat-file: no stdin"))?;
    let ids: Vec<String> = entries.values().map(|e| e.oid.clone()).collect();
    let writer = std::thread::spawn(move || {
        for id in ids {
            if stdin.write_all(format!("{id}\n").as_bytes()).is_err() {
                break;
            }
        }
    });
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("git cat-file: no stdout"))?;
    let mut reader = BufReader::new(stdout);
    for (path, entry) in entries {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("git cat-file: {}", header.trim())))?;
        let mut content = vec![0u8; size];
        reader.read_exact(&mut content)?;
        let mut nl = [0u8; 1];
        reader.read_exact(&mut nl)?;
        each(path, entry, content)?;
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(())
}

/// Reads the regular files of a commit into memory.
#[cfg(test)]
pub fn read_commit(repo: &Path, commit: &str) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let entries = files(repo, commit)?;
    let mut out = BTreeMap::new();
    read_blobs(repo, &entries, |path, _, content| {
        out.insert(path.to_owned(), content);
        Ok(())
    })?;
    Ok(out)
}

/// Writes the regular files of a commit into `dir`, a fresh folder (it must not exist):
/// paths checked as [`AppPath`]s, `100755` files made executable, symlinks and submodules left
/// out. Returns the files' contents for the caller's checks.
pub fn checkout(
    repo: &Path,
    commit: &str,
    dir: &Path,
    data: &Path,
) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    std::fs::create_dir(dir)?;
    let entries = files(repo, commit)?;
    let mut small = BTreeMap::new();
    read_blobs(repo, &entries, |path, entry, content| {
        let Ok(checked) = AppPath::new(path) else {
            tracing::warn!(path, "a path of a pushed tree is not a Space path: skipped");
            return Ok(());
        };
        if checked
            .as_path()
            .components()
            .any(|c| c.as_os_str() == ".git")
        {
            return Ok(());
        }
        let target = dir.join(checked.as_path());
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p)?;
        }
        // A fresh folder: nothing here is a symlink, so nothing written leaves it. An LFS
        // pointer whose object is stored is written as the object's content.
        match crate::lfs::parse_pointer(&content) {
            Some((oid, size)) if crate::lfs::stored_size(data, &oid) == Some(size) => {
                std::fs::copy(crate::lfs::object_path(data, &oid), &target)?;
            }
            _ => std::fs::write(&target, &content)?,
        }
        #[cfg(unix)]
        if entry.mode == "100755" {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))?;
        }
        if path == "README.md" {
            small.insert(path.to_owned(), content);
        }
        Ok(())
    })?;
    Ok(small)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_are_dropped_and_ref_names_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("a.git");
        let sha = init(&repo, &BTreeMap::new(), "first").unwrap();
        // A commit with a symlink pointing outside, as a push could bring.
        let stream = format!(
            "commit refs/heads/main\ncommitter x <x@y> 0 +0000\ndata 1\nm\nfrom {sha}\n\
             M 120000 inline leak\ndata 11\n/etc/passwd\nM 100644 inline ok.txt\ndata 2\nok\ndone\n"
        );
        let mut child = git(&repo)
            .args(["fast-import", "--quiet", "--done"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stream.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
        let head = head(&repo).unwrap().unwrap();
        let out = tmp.path().join("out");
        checkout(&repo, &head, &out, tmp.path()).unwrap();
        assert!(out.join("ok.txt").is_file());
        assert!(std::fs::symlink_metadata(out.join("leak")).is_err());
        for bad in [
            "a..b", "-x", "a/.b", "x.lock", "a b", "a~1", "", "a//b", "@",
        ] {
            assert!(!valid_branch(bad), "{bad}");
        }
        assert!(valid_branch("main") && valid_branch("feature/x-1"));
        assert_eq!(resolve(&repo, "a..b").unwrap(), None);
        assert_eq!(
            resolve(&repo, "HEAD").unwrap().as_deref(),
            Some(head.as_str())
        );
    }

    #[test]
    fn first_commit_and_checkout() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("a.git");
        let files = BTreeMap::from([
            ("README.md".to_owned(), b"---\nsdk: static\n---\n".to_vec()),
            ("sub/x.txt".to_owned(), b"hi".to_vec()),
        ]);
        let sha = init(&repo, &files, "initial commit").unwrap();
        assert!(is_sha(&sha));
        assert_eq!(head(&repo).unwrap().as_deref(), Some(sha.as_str()));
        assert_eq!(read_commit(&repo, &sha).unwrap(), files);
        let out = tmp.path().join("out");
        checkout(&repo, &sha, &out, tmp.path()).unwrap();
        assert_eq!(std::fs::read(out.join("sub/x.txt")).unwrap(), b"hi");
        let copy = tmp.path().join("b.git");
        copy_repo(&repo, &copy).unwrap();
        assert_eq!(head(&copy).unwrap().as_deref(), Some(sha.as_str()));
        let next = commit(&repo, Some(&sha), &BTreeMap::new(), "empty").unwrap();
        assert_ne!(next, sha);
        assert!(read_commit(&repo, &next).unwrap().is_empty());
    }
}

/// Whether `name` may be a branch name: git's rules (`git check-ref-format`) in short — no `..`,
/// no `@{`, no control characters, spaces or `~^:?*[\`, no leading `-` or `/`, no `.lock` or `/`
/// at the end, no empty or dot-led component.
pub fn valid_branch(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.contains("..")
        && !name.contains("@{")
        && name != "@"
        && !name.starts_with('-')
        && !name.ends_with(".lock")
        && !name.ends_with('.')
        && !name
            .chars()
            .any(|c| c.is_control() || " ~^:?*[\\".contains(c))
        && name
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.'))
}

/// The commit a revision names: a branch, or a full commit id present in the repository.
pub fn resolve(repo: &Path, rev: &str) -> std::io::Result<Option<String>> {
    let rev = if rev == "HEAD" { "main" } else { rev };
    let spec = if is_sha(rev) {
        format!("{rev}^{{commit}}")
    } else if valid_branch(rev) {
        format!("refs/heads/{rev}^{{commit}}")
    } else {
        return Ok(None);
    };
    let out = git(repo)
        .args(["rev-parse", "--verify", "--quiet", &spec])
        .stdin(Stdio::null())
        .output()?;
    let sha = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok((out.status.success() && is_sha(&sha)).then_some(sha))
}

/// One change of a commit.
#[derive(Debug, Clone)]
pub enum Op {
    /// Adds or replaces a file.
    Put(String, Vec<u8>),
    /// Deletes a file or a folder.
    Delete(String),
}

/// Why a commit was not made.
#[derive(Debug)]
pub enum CommitError {
    /// The branch moved since `parent`.
    Stale,
    /// Anything else.
    Io(std::io::Error),
}

impl From<std::io::Error> for CommitError {
    fn from(e: std::io::Error) -> Self {
        CommitError::Io(e)
    }
}

/// Makes a commit of `ops` on `branch` after `parent` (its current head; `None` for a new
/// branch), moving the branch only if it still points at `parent`. Returns the commit's id.
pub fn commit_ops(
    repo: &Path,
    branch: &str,
    parent: Option<&str>,
    ops: &[Op],
    message: &str,
) -> Result<String, CommitError> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = format!("refs/spaces-tmp/{}-{n}", std::process::id());
    let when = jiff::Timestamp::now().as_second();
    let mut stream: Vec<u8> = format!(
        "commit {tmp}\nauthor {COMMITTER} {when} +0000\ncommitter {COMMITTER} {when} +0000\ndata {}\n{message}\n",
        message.len()
    )
    .into_bytes();
    if let Some(p) = parent {
        stream.extend_from_slice(format!("from {p}\n").as_bytes());
    }
    for op in ops {
        let path = match op {
            Op::Put(p, _) | Op::Delete(p) => p,
        };
        if path.contains(['\n', '"']) {
            return Err(
                std::io::Error::other(format!("`{path}` cannot be a path of a Space")).into(),
            );
        }
        match op {
            Op::Put(p, content) => {
                stream.extend_from_slice(
                    format!("M 100644 inline {p}\ndata {}\n", content.len()).as_bytes(),
                );
                stream.extend_from_slice(content);
                stream.push(b'\n');
            }
            Op::Delete(p) => stream.extend_from_slice(format!("D {p}\n").as_bytes()),
        }
    }
    stream.extend_from_slice(b"done\n");
    let mut child = git(repo)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&stream)?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "git fast-import: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .into());
    }
    let new = String::from_utf8_lossy(&run(git(repo).args(["rev-parse", &tmp]), "rev-parse")?)
        .trim()
        .to_owned();
    let _ = run(git(repo).args(["update-ref", "-d", &tmp]), "update-ref");
    let zero = "0".repeat(40);
    let moved = git(repo)
        .args([
            "update-ref",
            &format!("refs/heads/{branch}"),
            &new,
            parent.unwrap_or(&zero),
        ])
        .stdin(Stdio::null())
        .output()?;
    if !moved.status.success() {
        return Err(CommitError::Stale);
    }
    Ok(new)
}

/// One entry of a listing.
#[derive(Debug, Clone)]
pub struct TreeEntry {
    /// `file` or `directory`.
    pub kind: &'static str,
    /// The path from the root.
    pub path: String,
    /// The blob or tree id.
    pub oid: String,
    /// The size (0 for a folder).
    pub size: u64,
}

/// Lists a folder of a commit (`""` for the root), its whole subtree when `recursive`;
/// symlinks and submodules left out. `None` when the folder does not exist.
pub fn list(
    repo: &Path,
    commit: &str,
    folder: &str,
    recursive: bool,
) -> std::io::Result<Option<Vec<TreeEntry>>> {
    let mut cmd = git(repo);
    cmd.args(["ls-tree", "-z", "--long"]);
    if recursive {
        cmd.args(["-r", "-t"]);
    }
    cmd.arg(commit);
    if !folder.is_empty() {
        cmd.arg("--").arg(format!("{folder}/"));
    }
    let out = run(&mut cmd, "ls-tree")?;
    let mut entries = Vec::new();
    for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(rec);
        let Some((meta, path)) = text.split_once('\t') else {
            continue;
        };
        let parts: Vec<&str> = meta.split_whitespace().collect();
        let [mode, kind, oid, size] = parts[..] else {
            continue;
        };
        let kind = match (kind, mode) {
            ("tree", _) => "directory",
            ("blob", "100644" | "100755") => "file",
            _ => continue,
        };
        entries.push(TreeEntry {
            kind,
            path: path.to_owned(),
            oid: oid.to_owned(),
            size: size.parse().unwrap_or(0),
        });
    }
    if entries.is_empty() && !folder.is_empty() {
        return Ok(None);
    }
    Ok(Some(entries))
}

/// The entry of one path in a commit (a file or a folder), if any.
pub fn entry(repo: &Path, commit: &str, path: &str) -> std::io::Result<Option<TreeEntry>> {
    let out = run(
        git(repo).args(["ls-tree", "-z", "--long", commit, "--", path]),
        "ls-tree",
    )?;
    for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(rec);
        let Some((meta, p)) = text.split_once('\t') else {
            continue;
        };
        if p != path {
            continue;
        }
        let parts: Vec<&str> = meta.split_whitespace().collect();
        let [mode, kind, oid, size] = parts[..] else {
            continue;
        };
        let kind = match (kind, mode) {
            ("tree", _) => "directory",
            ("blob", "100644" | "100755") => "file",
            _ => continue,
        };
        return Ok(Some(TreeEntry {
            kind,
            path: p.to_owned(),
            oid: oid.to_owned(),
            size: size.parse().unwrap_or(0),
        }));
    }
    Ok(None)
}

/// The content of a blob.
pub fn blob(repo: &Path, oid: &str) -> std::io::Result<Vec<u8>> {
    run(git(repo).args(["cat-file", "blob", oid]), "cat-file")
}
