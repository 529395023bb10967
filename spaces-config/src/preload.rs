//! `preload_from_hub` items: `repo_id`, `repo_id file1,file2` or `repo_id file1,file2 sha`.

use std::fmt;

use spaces_core::Revision;

use crate::RepoId;

/// A repository (and optionally some of its files, at a commit) to download at build time.
///
/// ```
/// use spaces_config::PreloadItem;
/// let item = PreloadItem::parse("openai/whisper-large-v3 config.json,model.safetensors 1a2b3c4d")?;
/// assert_eq!(item.files, ["config.json", "model.safetensors"]);
/// assert_eq!(item.to_string(), "openai/whisper-large-v3 config.json,model.safetensors 1a2b3c4d");
/// assert!(PreloadItem::parse("openai/whisper main").is_ok()); // a file named `main`
/// assert!(PreloadItem::parse("openai/whisper a.json main").is_err()); // not a commit sha
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PreloadItem {
    /// The repository.
    pub repo: RepoId,
    /// The files to download (all of them when empty).
    pub files: Vec<String>,
    /// The commit to download from (the default branch when `None`).
    pub revision: Option<Revision>,
}

impl PreloadItem {
    /// What an item looks like, for messages.
    pub const EXPECTED: &'static str =
        "`repo_id`, `repo_id file1,file2` or `repo_id file1,file2 commit_sha`";

    /// Reads an item; the error says what is wrong.
    pub fn parse(s: &str) -> Result<PreloadItem, String> {
        let parts: Vec<&str> = s.split_whitespace().collect();
        let (repo, files, revision) = match parts.as_slice() {
            [repo] => (*repo, None, None),
            [repo, files] => (*repo, Some(*files), None),
            [repo, files, rev] => (*repo, Some(*files), Some(*rev)),
            [] => return Err("the item is empty".to_owned()),
            _ => {
                return Err(format!(
                    "has {} space-separated parts, at most 3 are allowed (file names are separated by commas, without spaces)",
                    parts.len()
                ))
            }
        };
        let repo = RepoId::parse(repo).map_err(|rule| format!("repo id `{repo}`: {rule}"))?;
        let files = match files {
            None => Vec::new(),
            Some(list) => {
                let files: Vec<String> = list.split(',').map(str::to_owned).collect();
                if files.iter().any(String::is_empty) {
                    return Err(format!("file list `{list}` has an empty name"));
                }
                files
            }
        };
        let revision = revision
            .map(|r| {
                Revision::new(r)
                    .map_err(|_| format!("`{r}` is not a commit sha (4 to 64 hexadecimal digits)"))
            })
            .transpose()?;
        Ok(PreloadItem {
            repo,
            files,
            revision,
        })
    }
}

impl fmt::Display for PreloadItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.repo.as_str())?;
        if !self.files.is_empty() {
            write!(f, " {}", self.files.join(","))?;
        }
        if let Some(rev) = &self.revision {
            write!(f, " {}", rev.as_str())?;
        }
        Ok(())
    }
}
