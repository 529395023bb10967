//! Finding the YAML front matter of a README: the block between a first line `---` and the next
//! line `---`.
//!
//! A UTF-8 byte-order mark before the first `---`, CRLF line endings, trailing spaces or tabs on the
//! fence lines and a closing `---` at the very end of the file with no newline are all accepted.
//! Everything after the closing fence is the body, which this crate never changes.

use std::ops::Range;

use crate::Error;

const BOM: &str = "\u{feff}";

/// Where the parts of a README lie, as byte ranges into the text it was found in.
///
/// ```
/// use spaces_config::FrontMatter;
/// let readme = "\u{feff}---\r\ntitle: Demo\r\nsdk: gradio\r\n---\r\n# Hello\r\n";
/// let fm = FrontMatter::find(readme)?;
/// assert_eq!(fm.yaml(readme), "title: Demo\r\nsdk: gradio\r\n");
/// assert_eq!(fm.body(readme), "# Hello\r\n");
/// assert_eq!(fm.yaml_first_line, 2);
/// assert_eq!(fm.newline, "\r\n");
/// # Ok::<(), spaces_config::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontMatter {
    /// The opening fence line, its line ending included (after any byte-order mark).
    pub open: Range<usize>,
    /// The YAML between the fences (possibly empty).
    pub yaml: Range<usize>,
    /// The closing fence line, its line ending included when it has one.
    pub close: Range<usize>,
    /// Everything after the closing fence.
    pub body: Range<usize>,
    /// The README line (1-based) on which the YAML starts.
    pub yaml_first_line: usize,
    /// The README line (1-based) of the closing fence.
    pub close_line: usize,
    /// The line ending the file uses (`"\r\n"` when the opening fence ends with one, else `"\n"`).
    pub newline: &'static str,
}

/// Whether a line (without its `\n`) is a fence: `---`, then only spaces, tabs or a `\r`.
fn is_fence(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.chars().all(|c| matches!(c, ' ' | '\t' | '\r')))
}

impl FrontMatter {
    /// Finds the front matter of `readme`.
    ///
    /// Errors: [`Error::NoFrontMatter`] when the first line is not `---`, [`Error::Unterminated`]
    /// (pointing at the opening fence) when no closing `---` follows.
    pub fn find(readme: &str) -> Result<FrontMatter, Error> {
        let start = if readme.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        let rest = &readme[start..];
        let first_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let first = &rest[..first_end];
        if !is_fence(first.trim_end_matches('\n')) {
            return Err(Error::NoFrontMatter { line: 1, column: 1 });
        }
        let newline = if first.ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let open = start..start + first_end;
        if !first.ends_with('\n') {
            // `---` alone on the only line: opened, never closed.
            return Err(Error::Unterminated { line: 1, column: 1 });
        }
        let mut pos = open.end;
        let mut line_no = 2;
        while pos < readme.len() {
            let tail = &readme[pos..];
            let len = tail.find('\n').map_or(tail.len(), |i| i + 1);
            if is_fence(tail[..len].trim_end_matches('\n')) {
                return Ok(FrontMatter {
                    yaml: open.end..pos,
                    close: pos..pos + len,
                    body: pos + len..readme.len(),
                    open,
                    yaml_first_line: 2,
                    close_line: line_no,
                    newline,
                });
            }
            pos += len;
            line_no += 1;
        }
        Err(Error::Unterminated { line: 1, column: 1 })
    }

    /// The YAML text between the fences.
    pub fn yaml<'a>(&self, readme: &'a str) -> &'a str {
        readme.get(self.yaml.clone()).unwrap_or_default()
    }

    /// The body after the closing fence.
    pub fn body<'a>(&self, readme: &'a str) -> &'a str {
        readme.get(self.body.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lf() {
        let r = "---\nsdk: gradio\n---\nbody\n";
        let fm = FrontMatter::find(r).unwrap();
        assert_eq!(fm.yaml(r), "sdk: gradio\n");
        assert_eq!(fm.body(r), "body\n");
        assert_eq!(fm.close_line, 3);
        assert_eq!(fm.newline, "\n");
    }

    #[test]
    fn closing_fence_at_eof_without_newline() {
        let r = "---\nsdk: gradio\n---";
        let fm = FrontMatter::find(r).unwrap();
        assert_eq!(fm.yaml(r), "sdk: gradio\n");
        assert_eq!(fm.body(r), "");
    }

    #[test]
    fn trailing_spaces_and_crlf_on_fences() {
        let r = "---  \r\nsdk: static\r\n--- \t\r\nbody";
        let fm = FrontMatter::find(r).unwrap();
        assert_eq!(fm.yaml(r), "sdk: static\r\n");
        assert_eq!(fm.body(r), "body");
        assert_eq!(fm.newline, "\r\n");
    }

    #[test]
    fn empty_front_matter() {
        let r = "---\n---\n";
        let fm = FrontMatter::find(r).unwrap();
        assert_eq!(fm.yaml(r), "");
    }

    #[test]
    fn errors_say_where() {
        assert!(matches!(
            FrontMatter::find("# Title\n---\n"),
            Err(Error::NoFrontMatter { line: 1, column: 1 })
        ));
        assert!(matches!(
            FrontMatter::find(""),
            Err(Error::NoFrontMatter { .. })
        ));
        assert!(matches!(
            FrontMatter::find("---\nsdk: gradio\n"),
            Err(Error::Unterminated { line: 1, .. })
        ));
        assert!(matches!(
            FrontMatter::find("---"),
            Err(Error::Unterminated { .. })
        ));
        assert!(matches!(
            FrontMatter::find("----\n---\n"),
            Err(Error::NoFrontMatter { .. })
        ));
    }

    #[test]
    fn a_dash_line_inside_yaml_is_not_a_fence() {
        let r = "---\ntags:\n  - ---x\n---\n";
        let fm = FrontMatter::find(r).unwrap();
        assert_eq!(fm.yaml(r), "tags:\n  - ---x\n");
    }
}
