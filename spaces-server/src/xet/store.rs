//! A Space's xorbs on disk (`<data>/xet/<owner>/<name>/<hash>`, written whole then renamed, so a
//! crash leaves none half-written) and the files of a shard rebuilt from them into the LFS object
//! store. Blocking: call from `spawn_blocking`.

use std::io::Write;
use std::path::{Path, PathBuf};

use spaces_core::SpaceId;

use super::format::{self, ShardFile, XetHash};
use crate::lfs;

/// Why a xorb or a shard is refused.
#[derive(Debug)]
pub(crate) enum StoreError {
    /// The client sent something wrong (400).
    Bad(String),
    /// A file is over the size limit (413).
    TooLarge(u64),
    /// The disk failed (500).
    Io(String),
}

fn folder(data: &Path, space: &SpaceId) -> PathBuf {
    data.join("xet").join(space.owner()).join(space.name())
}

/// Stores a xorb for `space`; `false` when it was there already.
pub(crate) fn put_xorb(
    data: &Path,
    space: &SpaceId,
    hash: &XetHash,
    bytes: &[u8],
) -> Result<bool, StoreError> {
    // The first chunk must read: a body that is not a xorb is refused now, not at the shard.
    format::chunk_offsets(bytes, 1).map_err(|e| StoreError::Bad(e.to_string()))?;
    let dir = folder(data, space);
    let path = dir.join(hash.api_hex());
    if path.is_file() {
        return Ok(false);
    }
    let io = |e: std::io::Error| StoreError::Io(format!("storing xorb {hash:?}: {e}"));
    std::fs::create_dir_all(&dir).map_err(io)?;
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // A name of its own per upload: two uploads of one xorb never write the same file.
    let tmp = dir.join(format!(".{}.{}-{n}", hash.api_hex(), std::process::id()));
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })?;
    Ok(true)
}

/// Rebuilds each file of a shard from `space`'s xorbs into the LFS object store, checking its
/// size against `max` and its bytes against the SHA-256 the shard names. Files already stored
/// are skipped. Nothing is stored for a file that fails; files before it stay (they are whole
/// and checked, and a later commit may name them).
pub(crate) fn put_shard(
    data: &Path,
    space: &SpaceId,
    files: &[ShardFile],
    max: u64,
) -> Result<usize, StoreError> {
    let dir = folder(data, space);
    // The xorbs read, at most two at a time (each up to 64 MiB): files list their xorbs in order.
    let mut xorbs: Vec<(XetHash, Vec<u8>, Vec<usize>)> = Vec::new();
    let mut stored = 0;
    for file in files {
        let size = file.size();
        if size > max {
            return Err(StoreError::TooLarge(max));
        }
        if lfs::stored_size(data, &file.sha256) == Some(size) {
            continue;
        }
        let mut upload =
            lfs::Upload::start(data).map_err(|e| StoreError::Io(format!("LFS store: {e}")))?;
        for seg in &file.segments {
            if seg.start >= seg.end {
                return Err(StoreError::Bad(format!(
                    "file {}: empty chunk range [{}, {}) of xorb {:?}",
                    file.sha256, seg.start, seg.end, seg.xorb
                )));
            }
            let at = match xorbs.iter().position(|(h, _, _)| *h == seg.xorb) {
                Some(at) => at,
                None => {
                    let bytes = std::fs::read(dir.join(seg.xorb.api_hex())).map_err(|_| {
                        StoreError::Bad(format!(
                            "file {}: xorb {:?} was not uploaded to this Space",
                            file.sha256, seg.xorb
                        ))
                    })?;
                    if xorbs.len() == 2 {
                        xorbs.remove(0);
                    }
                    xorbs.push((seg.xorb, bytes, Vec::new()));
                    xorbs.len() - 1
                }
            };
            let (_, bytes, offsets) = &mut xorbs[at];
            if offsets.len() < seg.end as usize {
                *offsets = format::chunk_offsets(bytes, seg.end)
                    .map_err(|e| StoreError::Bad(format!("xorb {:?}: {e}", seg.xorb)))?;
            }
            let mut written = 0u64;
            for index in seg.start..seg.end {
                let chunk = format::chunk_data(bytes, offsets[index as usize], index)
                    .map_err(|e| StoreError::Bad(format!("xorb {:?}: {e}", seg.xorb)))?;
                written += chunk.len() as u64;
                upload
                    .write(&chunk, max)
                    .map_err(|_| StoreError::TooLarge(max))?;
            }
            if written != u64::from(seg.unpacked_bytes) {
                return Err(StoreError::Bad(format!(
                    "file {}: chunks [{}, {}) of xorb {:?} unpack to {written} bytes, the shard \
                     says {}",
                    file.sha256, seg.start, seg.end, seg.xorb, seg.unpacked_bytes
                )));
            }
        }
        upload
            .finish(data, &file.sha256, size)
            .map_err(|e| StoreError::Bad(format!("file {}: {e}", file.sha256)))?;
        stored += 1;
    }
    Ok(stored)
}

/// Removes a Space's xorbs (when the Space is deleted).
pub(crate) fn remove_space(data: &Path, space: &SpaceId) {
    let _ = std::fs::remove_dir_all(folder(data, space));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const XORB: &[u8] = include_bytes!(
        "../../tests/fixtures/xet/xorb-2b7c83d7596a0ba876b20cfa27f2e50668aac1f79df55d77cd90ba32f979954f"
    );
    const SHARD: &[u8] = include_bytes!("../../tests/fixtures/xet/notes.shard");
    const NOTES: &[u8] = include_bytes!("../../tests/fixtures/xet/notes.txt");

    #[test]
    fn a_shard_rebuilds_its_file_from_the_spaces_own_xorbs_only() {
        let dir = tempfile::tempdir().unwrap();
        let alice: SpaceId = "alice/demo".parse().unwrap();
        let bob: SpaceId = "bob/demo".parse().unwrap();
        let files = format::parse_shard(SHARD).unwrap();
        let hash = files[0].segments[0].xorb;
        assert!(put_xorb(dir.path(), &alice, &hash, XORB).unwrap());
        assert!(!put_xorb(dir.path(), &alice, &hash, XORB).unwrap());
        // Bob never uploaded the xorb: his shard naming it is refused.
        assert!(matches!(
            put_shard(dir.path(), &bob, &files, u64::MAX),
            Err(StoreError::Bad(_))
        ));
        assert!(matches!(
            put_shard(dir.path(), &alice, &files, 100),
            Err(StoreError::TooLarge(100))
        ));
        assert_eq!(put_shard(dir.path(), &alice, &files, u64::MAX).unwrap(), 1);
        let stored = std::fs::read(lfs::object_path(dir.path(), &files[0].sha256)).unwrap();
        assert_eq!(stored, NOTES);
        // Again: already stored.
        assert_eq!(put_shard(dir.path(), &alice, &files, u64::MAX).unwrap(), 0);
    }

    #[test]
    fn a_shard_whose_sha256_lies_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let alice: SpaceId = "alice/demo".parse().unwrap();
        let mut files = format::parse_shard(SHARD).unwrap();
        put_xorb(dir.path(), &alice, &files[0].segments[0].xorb, XORB).unwrap();
        files[0].sha256 = "0".repeat(64);
        assert!(matches!(
            put_shard(dir.path(), &alice, &files, u64::MAX),
            Err(StoreError::Bad(_))
        ));
        assert!(lfs::stored_size(dir.path(), &"0".repeat(64)).is_none());
    }

    #[test]
    fn a_body_that_is_not_a_xorb_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let alice: SpaceId = "alice/demo".parse().unwrap();
        let h = XetHash([1; 32]);
        assert!(matches!(
            put_xorb(dir.path(), &alice, &h, b"hello"),
            Err(StoreError::Bad(_))
        ));
    }
}
