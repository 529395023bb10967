//! The `emoji` key: emoji characters only.
//!
//! An emoji is a pictograph, optionally followed by a variation selector, a skin-tone modifier,
//! a keycap mark or tag characters, and joined to further pictographs by zero-width joiners (`🧑‍💻`
//! is one emoji). Two regional indicators make one flag; a digit, `#` or `*` followed by the keycap
//! mark is one keycap. Letters, digits and mojibake (`ðŸ“ˆ`, what `📈` becomes when UTF-8 is read
//! as Windows-1252) are not emoji.

/// What the `emoji` value holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmojiCheck {
    /// Only emoji (and spaces between them); how many.
    Emoji(usize),
    /// A character that is not part of an emoji.
    NotEmoji(char),
    /// Nothing at all.
    Empty,
}

const VS16: char = '\u{fe0f}';
const VS15: char = '\u{fe0e}';
const ZWJ: char = '\u{200d}';
const KEYCAP: char = '\u{20e3}';

fn is_pictograph(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1F1E5 | 0x1F200..=0x1F3FA | 0x1F400..=0x1FAFF
        | 0x2600..=0x27BF | 0x2300..=0x23FF | 0x2B00..=0x2BFF | 0x2190..=0x21FF
        | 0x25A0..=0x25FF | 0x2900..=0x297F | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0xA9 | 0xAE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x24C2)
}

fn is_regional(c: char) -> bool {
    matches!(c as u32, 0x1F1E6..=0x1F1FF)
}

fn is_modifier(c: char) -> bool {
    matches!(c as u32, 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F)
        || c == VS16
        || c == VS15
        || c == KEYCAP
}

/// Checks an `emoji` value.
///
/// ```
/// use spaces_config::{check_emoji, EmojiCheck};
/// assert_eq!(check_emoji("🚀"), EmojiCheck::Emoji(1));
/// assert_eq!(check_emoji("👩‍💻"), EmojiCheck::Emoji(1));
/// assert_eq!(check_emoji("🇫🇷"), EmojiCheck::Emoji(1));
/// assert_eq!(check_emoji("🔥🚀"), EmojiCheck::Emoji(2));
/// assert_eq!(check_emoji("ðŸ“ˆ"), EmojiCheck::NotEmoji('ð'));
/// assert_eq!(check_emoji("A"), EmojiCheck::NotEmoji('A'));
/// ```
pub fn check_emoji(value: &str) -> EmojiCheck {
    let chars: Vec<char> = value.chars().collect();
    let mut count = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' {
            i += 1;
            continue;
        }
        if matches!(c, '0'..='9' | '#' | '*') {
            let mut j = i + 1;
            if chars.get(j) == Some(&VS16) {
                j += 1;
            }
            if chars.get(j) != Some(&KEYCAP) {
                return EmojiCheck::NotEmoji(c);
            }
            count += 1;
            i = j + 1;
            continue;
        }
        if is_regional(c) {
            i += 1;
            if chars.get(i).copied().is_some_and(is_regional) {
                i += 1;
            }
            count += 1;
            continue;
        }
        if !is_pictograph(c) {
            return EmojiCheck::NotEmoji(c);
        }
        i += 1;
        loop {
            while chars.get(i).copied().is_some_and(is_modifier) {
                i += 1;
            }
            if chars.get(i) == Some(&ZWJ) && chars.get(i + 1).copied().is_some_and(is_pictograph) {
                i += 2;
            } else {
                break;
            }
        }
        count += 1;
    }
    if count == 0 {
        EmojiCheck::Empty
    } else {
        EmojiCheck::Emoji(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_one_emoji() {
        for one in [
            "🧠",
            "❤️",
            "👍🏽",
            "1️⃣",
            "#⃣",
            "🏴‍☠️",
            "🧑‍🤝‍🧑",
            "🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}",
            "⭐",
            "☕",
            " 🤗 ",
        ] {
            assert_eq!(check_emoji(one), EmojiCheck::Emoji(1), "{one}");
        }
    }

    #[test]
    fn letters_digits_and_mojibake_are_not() {
        assert_eq!(check_emoji("a"), EmojiCheck::NotEmoji('a'));
        assert_eq!(check_emoji("1"), EmojiCheck::NotEmoji('1'));
        assert_eq!(check_emoji("🚀x"), EmojiCheck::NotEmoji('x'));
        assert_eq!(check_emoji(":rocket:"), EmojiCheck::NotEmoji(':'));
        assert_eq!(check_emoji("\u{200d}"), EmojiCheck::NotEmoji('\u{200d}'));
        assert_eq!(check_emoji("ðŸš€"), EmojiCheck::NotEmoji('ð'));
        assert_eq!(check_emoji(""), EmojiCheck::Empty);
        assert_eq!(check_emoji("  "), EmojiCheck::Empty);
        assert_eq!(check_emoji("🔥 🚀 ✨"), EmojiCheck::Emoji(3));
    }
}
