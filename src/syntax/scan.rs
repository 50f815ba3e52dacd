//! A small lexical scanner that runs before pest: it finds comments (which the grammar
//! skips but the formatter keeps), bounds nesting depth (so that pest's recursion cannot
//! overflow the stack) and splits a file into top-level chunks for error recovery.

/// A comment, `# ...` or `// ...`, without its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// What the scanner learned about a file.
#[derive(Debug, Default)]
pub struct Scan {
    pub comments: Vec<Comment>,
    /// Byte offset of the first bracket nested deeper than the limit.
    pub too_deep_at: Option<usize>,
    /// Byte ranges of top-level items, split after each `}` that returns to depth 0.
    pub chunks: Vec<(usize, usize)>,
    /// Offset of the first `{`, `[` or `(` that is never closed.
    pub unclosed_at: Option<usize>,
    /// Offset of the first `}`, `]` or `)` that closes nothing.
    pub unmatched_close_at: Option<usize>,
}

pub const MAX_DEPTH: usize = 64;

pub fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut out = Scan::default();
    let mut depth = 0usize;
    let mut openers: Vec<usize> = Vec::new();
    let mut suspect: Option<usize> = None;
    let mut chunk_start = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_string(bytes, i),
            b'#' => i = take_comment(text, i, &mut out.comments),
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = take_comment(text, i, &mut out.comments),
            b'{' | b'[' | b'(' => {
                depth += 1;
                openers.push(i);
                if depth > MAX_DEPTH && out.too_deep_at.is_none() {
                    out.too_deep_at = Some(i);
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                match openers.pop() {
                    None if out.unmatched_close_at.is_none() => out.unmatched_close_at = Some(i),
                    // A closer that starts a line indented less than its opener's line most
                    // likely belongs to an outer block: the opener is the one left open.
                    Some(opener) if suspect.is_none() && closes_outer_block(text, opener, i) => {
                        suspect = Some(opener);
                    }
                    _ => {}
                }
                depth = depth.saturating_sub(1);
                i += 1;
                if depth == 0 && bytes[i - 1] == b'}' {
                    out.chunks.push((chunk_start, i));
                    chunk_start = i;
                }
            }
            _ => i += 1,
        }
    }
    if !openers.is_empty() {
        out.unclosed_at = suspect.or(openers.first().copied());
    }
    if !text[chunk_start..].trim().is_empty() {
        out.chunks.push((chunk_start, text.len()));
    }
    out
}

/// Whether the closer at `close` starts its line with less indentation than the line of
/// the opener at `open` (so the indentation says it closes something further out).
fn closes_outer_block(text: &str, open: usize, close: usize) -> bool {
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |n| n + 1);
    let indent =
        |start: usize| text[start..].len() - text[start..].trim_start_matches([' ', '\t']).len();
    let close_line = line_start(close);
    let starts_line = text[close_line..close].trim().is_empty();
    starts_line && indent(close_line) < indent(line_start(open))
}

/// Index just past the closing quote (or the end of the line for an unterminated string).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn take_comment(text: &str, start: usize, comments: &mut Vec<Comment>) -> usize {
    let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    let body = text[start..end].trim_end();
    comments.push(Comment {
        start,
        end: start + body.len(),
        text: body.to_string(),
    });
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_inside_strings_are_not_comments() {
        let s = scan("a = \"x # y\" # real\n// also\n");
        let texts: Vec<_> = s.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["# real", "// also"]);
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(100);
        assert_eq!(scan(&deep).too_deep_at, Some(MAX_DEPTH));
        assert_eq!(scan("[[1]]").too_deep_at, None);
    }

    #[test]
    fn an_unclosed_inner_block_is_found_by_indentation() {
        let text = "project p {\n  labels = { team = \"x\"\n}\n";
        assert_eq!(scan(text).unclosed_at, text.find("{ team"));
        assert_eq!(scan("a {\n  b {\n  }\n").unclosed_at, Some(2));
    }

    #[test]
    fn chunks_split_top_level_items() {
        let s = scan("a { b { } }\nc { }\n");
        assert_eq!(s.chunks, vec![(0, 11), (11, 17)]);
    }
}
