//! Small helpers of the messages: a value's written text, list item names, mojibake and
//! near-miss key names.

use super::*;

/// A value's written text for the `value` field of a diagnostic.
pub(super) fn written(node: &Node) -> Option<String> {
    node.text().map(str::to_owned)
}

/// The name of item `i` of a list key in messages (`models[1]`; the key alone for a scalar).
pub(super) fn item_path(key: &str, listed: bool, i: usize) -> String {
    if listed {
        format!("{key}[{i}]")
    } else {
        key.to_owned()
    }
}

/// Whether a text looks like UTF-8 read as Windows-1252 or Latin-1 (`ðŸ“ˆ` for `📈`): a lead
/// character of a multi-byte sequence followed by what a continuation byte becomes.
pub(super) fn looks_like_mojibake(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(2).any(|w| {
        let lead = matches!(w[0], 'ð' | 'Ã' | 'â' | 'Â' | 'Ä' | 'Å' | 'ï');
        let cont = matches!(w[1] as u32,
            0x80..=0xBF | 0x152 | 0x153 | 0x160 | 0x161 | 0x178 | 0x17D | 0x17E | 0x192 | 0x2C6
            | 0x2DC | 0x2013..=0x203A | 0x20AC | 0x2122);
        lead && cont
    })
}

/// Lower-cased letters and digits only, to match near-miss key names.
pub(super) fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A reference key that an unknown key probably meant (`full_width` → `fullWidth`).
pub(super) fn suggest_key(key: &str) -> Option<&'static str> {
    let k = squash(key);
    if k.is_empty() {
        return None;
    }
    KNOWN_KEYS
        .iter()
        .find(|known| squash(known) == k)
        .or_else(|| {
            KNOWN_KEYS
                .iter()
                .find(|known| k.len() >= 4 && squash(known).ends_with(&k))
        })
        .copied()
}
