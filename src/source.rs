//! Source files and spans: every AST node and diagnostic points into a `SourceMap`.

use serde::Serialize;

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
pub struct FileId(pub u32);

/// A byte range in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both (same file assumed).
    pub fn join(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One loaded file: its display name (a path, or `<stdlib>/...`) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Its path relative to the project root, for reports that name files portably
    /// (SARIF); `None` for the stdlib.
    pub project_path: Option<std::path::PathBuf>,
    line_starts: Vec<usize>,
    /// Offsets of carriage returns not followed by a newline (rare; see
    /// [`SourceFile::miette_line_breaks_before`]).
    lone_carriage_returns: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let lone_carriage_returns = text
            .match_indices('\r')
            .map(|(i, _)| i)
            .filter(|&i| text.as_bytes().get(i + 1) != Some(&b'\n'))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            project_path: None,
            line_starts,
            lone_carriage_returns,
        }
    }

    /// 0-based index of the line holding a byte offset (clamped to the text).
    pub fn line_index(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// Number of lines (a final line without a newline counts; an empty text has one).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Line breaks before `offset` as miette counts them when it numbers lines: newlines
    /// plus carriage returns without one. The text renderer hands miette excerpts and
    /// must number them as miette numbers the whole file.
    pub fn miette_line_breaks_before(&self, offset: usize) -> usize {
        let lone = self.lone_carriage_returns.partition_point(|&i| i < offset);
        self.line_index(offset) + lone
    }

    /// Byte range of the 0-based lines `first..=last`, newlines included.
    pub fn lines(&self, first: usize, last: usize) -> std::ops::Range<usize> {
        let start = self.line_starts[first.min(self.line_starts.len() - 1)];
        let end = self
            .line_starts
            .get(last + 1)
            .copied()
            .unwrap_or(self.text.len());
        start..end.max(start)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_index(offset);
        let start = self.line_starts[line];
        let column = self.text[start..offset].chars().count() + 1;
        (line + 1, column)
    }
}

/// All files of one compilation, stdlib included.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile::new(name, text));
        FileId(self.files.len() as u32 - 1)
    }

    /// Adds a file of the project, with its path relative to the project root.
    pub fn add_project_file(
        &mut self,
        name: impl Into<String>,
        text: impl Into<String>,
        project_path: std::path::PathBuf,
    ) -> FileId {
        let id = self.add(name, text);
        self.files[id.0 as usize].project_path = Some(project_path);
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn text(&self, span: Span) -> &str {
        &self.get(span.file).text[span.range()]
    }

    pub fn find(&self, name: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.name == name)
            .map(|i| FileId(i as u32))
    }
}
