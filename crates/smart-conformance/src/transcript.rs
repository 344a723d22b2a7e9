//! Where the narrative of a run goes: a line sink chosen by the caller, or nowhere.

/// The transcript of a run: each line is handed to the sink as it happens.
pub struct Transcript<'a> {
    sink: Option<&'a dyn Fn(&str)>,
}

impl std::fmt::Debug for Transcript<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcript")
            .field("verbose", &self.sink.is_some())
            .finish()
    }
}

impl<'a> Transcript<'a> {
    /// A transcript that writes nothing (table or JSON output only).
    pub fn quiet() -> Self {
        Self { sink: None }
    }

    /// A transcript that hands every line to `sink` (which adds the line break).
    pub fn to(sink: &'a dyn Fn(&str)) -> Self {
        Self { sink: Some(sink) }
    }

    /// Whether lines are written at all.
    pub fn is_verbose(&self) -> bool {
        self.sink.is_some()
    }

    /// A detail line of the current step (indented).
    pub(crate) fn line(&self, text: impl AsRef<str>) {
        if let Some(sink) = self.sink {
            sink(&format!("   {}", text.as_ref()));
        }
    }

    /// A line as it is (titles, results).
    pub(crate) fn raw(&self, text: impl AsRef<str>) {
        if let Some(sink) = self.sink {
            sink(text.as_ref());
        }
    }
}
