//! Xet uploads: what huggingface_hub 1.x/2.x use for every `upload_folder`, `upload_file` and
//! `create_commit` file that preupload marks `lfs`, whenever `hf_xet` is installed (it is one of
//! the client's dependencies on x86-64 and arm64), so the client works here with no
//! `HF_HUB_DISABLE_XET`.
//!
//! The flow, as the official client runs it:
//! 1. `GET /api/spaces/{id}/xet-write-token/{rev}` (write access to the Space, as for a commit)
//!    answers a short-lived CAS token and `casUrl` = `<this server>/xet` (in the JSON body and the
//!    `X-Xet-*` headers). The token is good for that Space only, for [`TOKEN_SECONDS`]; only its
//!    SHA-256 is kept, in memory.
//! 2. With that token, under `/xet`: chunk dedup queries answer 404 (no global dedup: no Space
//!    learns what another stored), the upload-grant request answers 404 (the client then posts
//!    xorbs directly), `POST /v1/xorbs/default/{hash}` stores a xorb under the Space's own folder
//!    `<data>/xet/<owner>/<name>/`, and `POST /v1/shards` reads the shard's files, rebuilds each
//!    from the Space's xorbs, checks its SHA-256 and size, and stores it in the LFS object store
//!    (`<data>/lfs/`), over the file size limit refused with 413.
//! 3. The commit then names each file by SHA-256 (`lfsFile`), exactly as after an LFS upload.
//!
//! Downloads never use Xet here: `resolve` answers no `X-Xet-Hash`, so clients fetch bytes over
//! plain HTTP. Xorb hashes are not recomputed (that needs the Xet merkle hash); a file is
//! trusted only once its rebuilt bytes hash to the SHA-256 the commit names.

pub(crate) mod format;
mod routes;
mod store;

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use spaces_core::SpaceId;

pub(crate) use routes::{read_token, router, write_token};
pub(crate) use store::remove_space;

/// How long a CAS token lasts, in seconds (the client asks for a new one before it ends).
pub const TOKEN_SECONDS: i64 = 3600;

/// What a CAS token allows.
#[derive(Debug, Clone)]
struct Grant {
    space: SpaceId,
    write: bool,
    expires: i64,
}

/// The CAS tokens handed out, by the SHA-256 of the token.
#[derive(Debug, Default)]
pub struct Grants(Mutex<HashMap<[u8; 32], Grant>>);

impl Grants {
    /// A new token for `space`.
    fn issue(&self, space: SpaceId, write: bool, now: i64) -> Option<(String, i64)> {
        let token = crate::identity::random_token("xet_")?;
        let expires = now + TOKEN_SECONDS;
        let mut map = self.0.lock().ok()?;
        map.retain(|_, g| g.expires > now);
        map.insert(
            Sha256::digest(token.as_bytes()).into(),
            Grant {
                space,
                write,
                expires,
            },
        );
        Some((token, expires))
    }

    /// The grant of a live token.
    fn check(&self, token: &str, now: i64) -> Option<Grant> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let map = self.0.lock().ok()?;
        map.get(&key).filter(|g| g.expires > now).cloned()
    }
}
