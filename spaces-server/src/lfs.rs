//! Git LFS for Spaces: the batch API (basic transfer) at
//! `/spaces/{owner}/{name}[.git]/info/lfs/objects/batch`, objects stored by their SHA-256 under
//! `<data>/lfs/<oid[0:2]>/<oid[2:4]>/<oid>` (checked on upload: content hash and size), pointer
//! files read back to content when a commit is built or a file is resolved.
//!
//! The `href`s the batch answers are signed (HMAC-SHA-256 over the Space, the object, its size,
//! the operation and an expiry, with a key made at start): huggingface_hub sends its upload
//! `PUT` without credentials, as it does to the Hub's storage. An object over the configured
//! size limit is refused with 413 naming the limit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use spaces_core::SpaceId;

/// The first line of a pointer file.
pub const POINTER_VERSION: &str = "version https://git-lfs.github.com/spec/v1";

/// How long a signed `href` is valid, in seconds.
pub const HREF_SECONDS: i64 = 3600;

/// Whether `s` is an LFS object id (64 lower-case hex digits).
pub fn is_oid(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where an object is stored (`oid` must be checked with [`is_oid`]).
pub fn object_path(data: &Path, oid: &str) -> PathBuf {
    data.join("lfs").join(&oid[0..2]).join(&oid[2..4]).join(oid)
}

/// The size of a stored object, if it is stored.
pub fn stored_size(data: &Path, oid: &str) -> Option<u64> {
    if !is_oid(oid) {
        return None;
    }
    std::fs::symlink_metadata(object_path(data, oid))
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// The pointer file of an object.
pub fn pointer(oid: &str, size: u64) -> Vec<u8> {
    format!("{POINTER_VERSION}\noid sha256:{oid}\nsize {size}\n").into_bytes()
}

/// Reads a pointer file: `(oid, size)`, or `None` when `content` is not one.
pub fn parse_pointer(content: &[u8]) -> Option<(String, u64)> {
    if content.len() > 1024 || !content.starts_with(POINTER_VERSION.as_bytes()) {
        return None;
    }
    let text = std::str::from_utf8(content).ok()?;
    let mut oid = None;
    let mut size = None;
    for line in text.lines() {
        if let Some(o) = line.strip_prefix("oid sha256:") {
            oid = Some(o.trim().to_owned());
        } else if let Some(s) = line.strip_prefix("size ") {
            size = s.trim().parse::<u64>().ok();
        }
    }
    let oid = oid.filter(|o| is_oid(o))?;
    Some((oid, size?))
}

fn key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut k = [0u8; 32];
        if getrandom::fill(&mut k).is_err() {
            // No randomness: a key from the time and the process (hrefs still expire).
            let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
            k.copy_from_slice(&Sha256::digest(seed.as_bytes()));
        }
        k
    })
}

fn hmac(message: &str) -> String {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, b) in key().iter().enumerate() {
        ipad[i] ^= b;
        opad[i] ^= b;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(message.as_bytes())
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The signature of an `href`.
pub fn sign(id: &SpaceId, op: &str, oid: &str, size: u64, expires: i64) -> String {
    hmac(&format!("{id}\n{op}\n{oid}\n{size}\n{expires}"))
}

/// Checks an `href`'s signature and expiry.
pub fn verify(id: &SpaceId, op: &str, oid: &str, size: u64, expires: i64, sig: &str) -> bool {
    expires >= jiff::Timestamp::now().as_second()
        && constant_eq(sign(id, op, oid, size, expires).as_bytes(), sig.as_bytes())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Stores an object from a stream of chunks: written to a temporary file under `<data>/lfs/tmp`,
/// hashed and counted, kept only when the hash and the size are `oid` and `size` (and the size
/// within `max`).
pub struct Upload {
    tmp: PathBuf,
    file: std::fs::File,
    hash: Sha256,
    written: u64,
}

impl Upload {
    /// Starts an upload.
    pub fn start(data: &Path) -> std::io::Result<Self> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = data.join("lfs").join("tmp");
        std::fs::create_dir_all(&dir)?;
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!("{}-{n}", std::process::id()));
        let file = std::fs::File::create(&tmp)?;
        Ok(Self {
            tmp,
            file,
            hash: Sha256::new(),
            written: 0,
        })
    }

    /// Writes a chunk; `Err` past `max` bytes.
    pub fn write(&mut self, chunk: &[u8], max: u64) -> std::io::Result<()> {
        self.written += chunk.len() as u64;
        if self.written > max {
            return Err(std::io::Error::other("over the size limit"));
        }
        self.hash.update(chunk);
        self.file.write_all(chunk)
    }

    /// Ends the upload: the object is stored when its hash and size are `oid` and `size`.
    pub fn finish(self, data: &Path, oid: &str, size: u64) -> Result<(), String> {
        let got: String = self
            .hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let result = if got != oid {
            Err(format!("the content's SHA-256 is {got}, not {oid}"))
        } else if self.written != size {
            Err(format!("the content is {} bytes, not {size}", self.written))
        } else {
            let target = object_path(data, oid);
            self.file
                .sync_all()
                .and_then(|()| {
                    std::fs::create_dir_all(target.parent().unwrap_or(data))?;
                    std::fs::rename(&self.tmp, &target)
                })
                .map_err(|e| format!("storing the object: {e}"))
        };
        let _ = std::fs::remove_file(&self.tmp);
        result
    }
}

/// The patterns of `.gitattributes` with `filter=lfs`.
pub fn lfs_patterns(gitattributes: &str) -> Vec<String> {
    gitattributes
        .lines()
        .filter(|l| l.contains("filter=lfs"))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Whether a path matches one of the patterns (`*.ext`, a file name, or a full path).
pub fn matches(patterns: &[String], path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    patterns.iter().any(|p| {
        if let Some(ext) = p.strip_prefix('*') {
            !ext.contains(['*', '?', '[']) && name.ends_with(ext)
        } else {
            p == name || p == path
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_and_signatures() {
        let oid = "a".repeat(64);
        assert_eq!(parse_pointer(&pointer(&oid, 12)), Some((oid.clone(), 12)));
        assert_eq!(parse_pointer(b"hello"), None);
        let id: SpaceId = "alice/demo".parse().unwrap();
        let exp = jiff::Timestamp::now().as_second() + 60;
        let sig = sign(&id, "upload", &oid, 12, exp);
        assert!(verify(&id, "upload", &oid, 12, exp, &sig));
        assert!(!verify(&id, "upload", &oid, 13, exp, &sig));
        assert!(!verify(&id, "download", &oid, 12, exp, &sig));
        let p = lfs_patterns("*.bin filter=lfs diff=lfs merge=lfs -text\n*.md text\n");
        assert!(matches(&p, "a/b.bin") && !matches(&p, "x.md"));
    }
}
