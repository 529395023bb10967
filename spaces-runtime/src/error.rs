//! The one error type of spaces-runtime's runtimes and supervisor.

use spaces_core::SpaceId;

/// Everything that can go wrong while running Spaces. Backend-specific failures are mapped into
/// these kinds, with the backend's message as context.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The backend cannot do this (a Docker Space on the local runtime, a GPU flavor without a GPU).
    #[error("{backend} runtime does not support {what}")]
    Unsupported {
        /// The backend's name.
        backend: &'static str,
        /// What was asked.
        what: String,
    },
    /// No such Space, image or instance.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// The build failed; `log_tail` holds the last lines of the build log.
    #[error("build of {space} failed: {reason}\n--- build log (tail) ---\n{log_tail}")]
    BuildFailed {
        /// The Space.
        space: SpaceId,
        /// The failing step, in a line.
        reason: String,
        /// The last lines of the build log.
        log_tail: String,
    },
    /// The thing already exists.
    #[error("conflict: {what}")]
    Conflict {
        /// What exists.
        what: String,
    },
    /// The backend is down or unreachable (no Docker engine, no GPU driver).
    #[error("{backend} runtime is unavailable: {reason}")]
    Unavailable {
        /// The backend's name.
        backend: &'static str,
        /// Why.
        reason: String,
    },
    /// An instance did not become healthy in time.
    #[error("{space} did not answer its health check within {waited_secs}s")]
    StartupTimeout {
        /// The Space.
        space: SpaceId,
        /// Seconds waited.
        waited_secs: u64,
    },
    /// An instance exited while it was expected to serve.
    #[error("{space} exited with {}", code.map(|c| format!("code {c}")).unwrap_or_else(|| "a signal".into()))]
    Exited {
        /// The Space.
        space: SpaceId,
        /// Its exit code.
        code: Option<i32>,
    },
    /// The lifecycle refused the operation (not the owner, wrong stage, storage downgrade, ...).
    #[error(transparent)]
    Refused(#[from] spaces_core::Error),
    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A check of the conformance suite failed (what was expected and what happened).
    #[error("conformance check failed: {what}")]
    ConformanceFailed {
        /// What went wrong.
        what: String,
    },
    /// Saved state could not be read back.
    #[error("state file {path} is damaged: {reason}")]
    CorruptState {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// An I/O error with context.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}
