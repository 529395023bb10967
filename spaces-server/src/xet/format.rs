//! The two Xet objects a client uploads, read without trusting them: a xorb (a run of chunks,
//! each an 8-byte header and its data, stored raw, LZ4 or byte-grouped LZ4) and a shard (the
//! files of an upload: for each, the xorb chunk ranges that make it up and its SHA-256).
//!
//! Every length is checked before it is used; a malformed object is an [`XetFormatError`],
//! never a panic or an allocation sized by the peer beyond the object's own length.

use std::fmt;
use std::io::Read;

/// A 32-byte Xet hash (a xorb's, a file's, or a SHA-256 as a shard stores it).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct XetHash(pub [u8; 32]);

impl XetHash {
    /// The hash from its API string: 64 lower-case hex digits, each 8-byte group written as a
    /// little-endian `u64` (the Xet spec's "converting hashes to strings").
    pub fn from_api_hex(s: &str) -> Option<Self> {
        if s.len() != 64
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let mut out = [0u8; 32];
        for (group, text) in out.chunks_mut(8).zip(s.as_bytes().chunks(16)) {
            let text = std::str::from_utf8(text).ok()?;
            let value = u64::from_str_radix(text, 16).ok()?;
            group.copy_from_slice(&value.to_le_bytes());
        }
        Some(Self(out))
    }

    /// The API string of the hash (see [`XetHash::from_api_hex`]). A SHA-256 stored in a shard
    /// reads back as the usual hex digest this way.
    pub fn api_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for group in self.0.chunks(8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(group);
            s.push_str(&format!("{:016x}", u64::from_le_bytes(word)));
        }
        s
    }
}

impl fmt::Debug for XetHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.api_hex())
    }
}

/// A malformed Xet object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XetFormatError {
    /// The shard does not start with the shard header's tag or version.
    #[error("not a Xet shard (bad header tag or version {0})")]
    ShardHeader(u64),
    /// The shard ends inside an entry.
    #[error("the shard ends inside {0}")]
    ShardTruncated(&'static str),
    /// A file entry of the shard has no SHA-256 (metadata extension), which uploads must have.
    #[error("file {0:?} of the shard carries no SHA-256 (metadata extension)")]
    ShardNoSha256(XetHash),
    /// A chunk header is not version 0, or the xorb ends inside a chunk.
    #[error("xorb chunk {index}: {what}")]
    Chunk {
        /// The chunk's index in the xorb.
        index: u32,
        /// What is wrong.
        what: String,
    },
}

/// One run of chunks of a xorb that a file is made of: `[start, end)` in chunk indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The xorb.
    pub xorb: XetHash,
    /// Bytes the run unpacks to.
    pub unpacked_bytes: u32,
    /// First chunk.
    pub start: u32,
    /// One past the last chunk.
    pub end: u32,
}

/// One file of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardFile {
    /// The file's Xet hash.
    pub hash: XetHash,
    /// Its SHA-256, as the hex digest the commit's `lfsFile.oid` carries.
    pub sha256: String,
    /// What it is made of, in order.
    pub segments: Vec<Segment>,
}

impl ShardFile {
    /// The file's size: the sum of its segments.
    pub fn size(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| u64::from(s.unpacked_bytes))
            .sum()
    }
}

const SHARD_TAG: [u8; 32] = [
    b'H', b'F', b'R', b'e', b'p', b'o', b'M', b'e', b't', b'a', b'D', b'a', b't', b'a', 0, 85, 105,
    103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169,
];
const ENTRY: usize = 48;
const WITH_VERIFICATION: u32 = 1 << 31;
const WITH_METADATA_EXT: u32 = 1 << 30;

fn entry<'a>(bytes: &'a [u8], at: usize, what: &'static str) -> Result<&'a [u8], XetFormatError> {
    bytes
        .get(at..at + ENTRY)
        .ok_or(XetFormatError::ShardTruncated(what))
}

fn u32_at(e: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&e[at..at + 4]);
    u32::from_le_bytes(b)
}

fn hash_at(e: &[u8]) -> XetHash {
    let mut h = [0u8; 32];
    h.copy_from_slice(&e[..32]);
    XetHash(h)
}

/// The files of an uploaded shard (its CAS section, which lists the new xorbs' chunks, is not
/// needed: each xorb is read from its own bytes).
pub fn parse_shard(bytes: &[u8]) -> Result<Vec<ShardFile>, XetFormatError> {
    let header = bytes
        .get(..ENTRY)
        .ok_or(XetFormatError::ShardTruncated("the header"))?;
    let mut version = [0u8; 8];
    version.copy_from_slice(&header[32..40]);
    let version = u64::from_le_bytes(version);
    if header[..32] != SHARD_TAG || version != 2 {
        return Err(XetFormatError::ShardHeader(version));
    }
    let mut at = ENTRY;
    let mut files = Vec::new();
    loop {
        let e = entry(bytes, at, "a file header")?;
        at += ENTRY;
        if e[..32].iter().all(|b| *b == 0xff) {
            return Ok(files);
        }
        let hash = hash_at(e);
        let flags = u32_at(e, 32);
        let n = u32_at(e, 36) as usize;
        // Each entry is 48 bytes of the shard: a count beyond what is left is a lie.
        if n > (bytes.len() - at) / ENTRY {
            return Err(XetFormatError::ShardTruncated("a file's segments"));
        }
        let mut segments = Vec::with_capacity(n);
        for _ in 0..n {
            let s = entry(bytes, at, "a file segment")?;
            at += ENTRY;
            segments.push(Segment {
                xorb: hash_at(s),
                unpacked_bytes: u32_at(s, 36),
                start: u32_at(s, 40),
                end: u32_at(s, 44),
            });
        }
        if flags & WITH_VERIFICATION != 0 {
            at += n * ENTRY;
        }
        let sha256 = if flags & WITH_METADATA_EXT != 0 {
            let m = entry(bytes, at, "a file's metadata extension")?;
            at += ENTRY;
            hash_at(m).api_hex()
        } else {
            return Err(XetFormatError::ShardNoSha256(hash));
        };
        files.push(ShardFile {
            hash,
            sha256,
            segments,
        });
    }
}

/// Where each chunk of a xorb lies in its bytes, read in order from the start up to `upto`
/// chunks (a xorb may carry a footer after its chunks; it is never read).
pub fn chunk_offsets(xorb: &[u8], upto: u32) -> Result<Vec<usize>, XetFormatError> {
    let mut offsets = Vec::new();
    let mut at = 0usize;
    for index in 0..upto {
        let header = xorb.get(at..at + 8).ok_or_else(|| XetFormatError::Chunk {
            index,
            what: format!("the xorb ends at byte {} before this chunk", xorb.len()),
        })?;
        if header[0] != 0 {
            return Err(XetFormatError::Chunk {
                index,
                what: format!("unknown chunk version {}", header[0]),
            });
        }
        let compressed = u24(&header[1..4]);
        offsets.push(at);
        at += 8 + compressed;
        if at > xorb.len() {
            return Err(XetFormatError::Chunk {
                index,
                what: "the xorb ends inside this chunk".into(),
            });
        }
    }
    Ok(offsets)
}

fn u24(b: &[u8]) -> usize {
    usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16
}

/// The largest chunk the format allows (128 KiB).
pub const MAX_CHUNK: usize = 128 * 1024;

/// The bytes of the chunk at `offset` (from [`chunk_offsets`]), decompressed.
pub fn chunk_data(xorb: &[u8], offset: usize, index: u32) -> Result<Vec<u8>, XetFormatError> {
    let bad = |what: String| XetFormatError::Chunk { index, what };
    let header = xorb
        .get(offset..offset + 8)
        .ok_or_else(|| bad("no chunk header there".into()))?;
    let compressed = u24(&header[1..4]);
    let scheme = header[4];
    let size = u24(&header[5..8]);
    if size > MAX_CHUNK {
        return Err(bad(format!("{size} bytes is over the 128 KiB chunk limit")));
    }
    let body = xorb
        .get(offset + 8..offset + 8 + compressed)
        .ok_or_else(|| bad("the xorb ends inside this chunk".into()))?;
    let data = match scheme {
        0 => body.to_vec(),
        1 => lz4_frame(body, size).map_err(bad)?,
        2 => ungroup4(&lz4_frame(body, size).map_err(bad)?),
        other => return Err(bad(format!("unknown compression scheme {other}"))),
    };
    if data.len() != size {
        return Err(bad(format!(
            "the chunk unpacks to {} bytes, its header says {size}",
            data.len()
        )));
    }
    Ok(data)
}

fn lz4_frame(body: &[u8], size: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(size);
    // One byte more than announced is enough to tell a lying header.
    lz4_flex::frame::FrameDecoder::new(body)
        .take(size as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("LZ4: {e}"))?;
    Ok(out)
}

/// Undoes byte grouping: the data was split into 4 groups by byte position mod 4 (the first
/// `len % 4` groups one byte longer) and the groups concatenated.
fn ungroup4(grouped: &[u8]) -> Vec<u8> {
    let n = grouped.len();
    let (base, extra) = (n / 4, n % 4);
    let mut starts = [0usize; 4];
    for g in 1..4 {
        starts[g] = starts[g - 1] + base + usize::from(g - 1 < extra);
    }
    let mut out = vec![0u8; n];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = grouped[starts[i % 4] + i / 4];
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const XORB_NAME: &str = "2b7c83d7596a0ba876b20cfa27f2e50668aac1f79df55d77cd90ba32f979954f";
    // Made by hf_xet 1.8.0 (huggingface_hub 2.4.0's upload_folder) for tests/fixtures/xet/notes.txt.
    const XORB: &[u8] = include_bytes!(
        "../../tests/fixtures/xet/xorb-2b7c83d7596a0ba876b20cfa27f2e50668aac1f79df55d77cd90ba32f979954f"
    );
    const SHARD: &[u8] = include_bytes!("../../tests/fixtures/xet/notes.shard");
    const NOTES: &[u8] = include_bytes!("../../tests/fixtures/xet/notes.txt");

    #[test]
    fn the_real_clients_shard_and_xorb_give_back_the_file() {
        let files = parse_shard(SHARD).unwrap();
        assert_eq!(files.len(), 1);
        let f = &files[0];
        assert_eq!(
            f.sha256,
            "b40c9eed7b3d872b81740b2f9d8c1a803c31706cd13c2cd57611c0c9bf531c9a"
        );
        assert_eq!(f.size(), NOTES.len() as u64);
        let mut out = Vec::new();
        for s in &f.segments {
            assert_eq!(s.xorb.api_hex(), XORB_NAME);
            let offsets = chunk_offsets(XORB, s.end).unwrap();
            for i in s.start..s.end {
                out.extend(chunk_data(XORB, offsets[i as usize], i).unwrap());
            }
        }
        assert_eq!(out, NOTES);
    }

    #[test]
    fn hashes_read_back_through_their_api_strings() {
        let h = XetHash::from_api_hex(XORB_NAME).unwrap();
        assert_eq!(h.api_hex(), XORB_NAME);
        let mut spec = [0u8; 32];
        for (i, b) in spec.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(
            XetHash(spec).api_hex(),
            "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
        );
        assert!(XetHash::from_api_hex("XYZ").is_none());
        assert!(XetHash::from_api_hex(&"G".repeat(64)).is_none());
    }

    #[test]
    fn byte_grouping_is_undone() {
        let data: Vec<u8> = (0u8..=250).collect();
        let mut groups: [Vec<u8>; 4] = Default::default();
        for (i, b) in data.iter().enumerate() {
            groups[i % 4].push(*b);
        }
        assert_eq!(ungroup4(&groups.concat()), data);
        let mut framed = Vec::new();
        {
            use std::io::Write;
            let mut enc = lz4_flex::frame::FrameEncoder::new(&mut framed);
            enc.write_all(&groups.concat()).unwrap();
            enc.finish().unwrap();
        }
        let mut xorb = vec![0u8];
        xorb.extend_from_slice(&(framed.len() as u32).to_le_bytes()[..3]);
        xorb.push(2);
        xorb.extend_from_slice(&(data.len() as u32).to_le_bytes()[..3]);
        xorb.extend_from_slice(&framed);
        assert_eq!(chunk_data(&xorb, 0, 0).unwrap(), data);
    }

    #[test]
    fn malformed_objects_are_errors_not_panics() {
        assert!(parse_shard(b"short").is_err());
        assert!(parse_shard(&SHARD[..100]).is_err());
        let mut lying = SHARD.to_vec();
        lying[48 + 36..48 + 40].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse_shard(&lying).is_err());
        assert!(chunk_offsets(&XORB[..20], 1).is_err());
        assert!(chunk_offsets(XORB, 1000).is_err());
        let mut bad = XORB.to_vec();
        bad[0] = 9;
        assert!(chunk_offsets(&bad, 1).is_err());
        let mut big = XORB.to_vec();
        big[5..8].copy_from_slice(&[0xff, 0xff, 0xff]);
        assert!(chunk_data(&big, 0, 0).is_err());
        let mut small = XORB.to_vec();
        small[5..8].copy_from_slice(&[1, 0, 0]);
        assert!(chunk_data(&small, 0, 0).is_err());
        for cut in 0..SHARD.len() {
            let _ = parse_shard(&SHARD[..cut]);
        }
    }
}
